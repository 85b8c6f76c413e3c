/* tlv: reads type-length-value records (1-byte type, 1-byte length, value) from stdin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct record { unsigned char type; unsigned char len; char *value; };

int main(void) {
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, stdin), pos = 0;
    while (pos + 2 <= n) {
        struct record r = { buf[pos], buf[pos + 1], NULL };
        size_t avail = n - pos - 2;
        r.value = malloc(r.len + 1);
        if (!r.value) return 1;
        /* copies up to the next record marker 0xff, trusting it to fit in len */
        size_t i = 0;
        while (i < avail && buf[pos + 2 + i] != 0xff) {
            r.value[i] = (char)buf[pos + 2 + i];
            i++;
        }
        r.value[i] = '\0';
        printf("record type=%u len=%u\n", r.type, r.len);
        free(r.value);
        pos += 2 + i + 1;
    }
    return 0;
}
