/* frame: reads frames "<length> <payload>" (one per line) and echoes the first <length>
 * bytes of the payload; lengths above 64 are rejected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    char line[256], out[65];
    while (fgets(line, sizeof line, stdin)) {
        char *sp = strchr(line, ' ');
        if (!sp) { puts("bad frame"); continue; }
        int len = atoi(line);
        if (len > 64) { puts("too long"); continue; }
        size_t avail = strcspn(sp + 1, "\n");
        if (len > (int)avail) len = (int)avail;
        memcpy(out, sp + 1, len);
        out[len] = '\0';
        printf("frame: %s\n", out);
    }
    return 0;
}
