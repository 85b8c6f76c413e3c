/* hexdec: decodes one line of hex from stdin into a 16-byte key and prints it back. */
#include <stdio.h>
#include <string.h>

static int nibble(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int main(void) {
    char line[256];
    unsigned char key[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    size_t len = strcspn(line, "\r\n");
    if (len % 2 || len / 2 > sizeof key + 1) { puts("bad length"); return 1; }
    size_t n = len / 2;
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(line[2 * i]), lo = nibble(line[2 * i + 1]);
        if (hi < 0 || lo < 0) { puts("bad digit"); return 1; }
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    printf("key(%zu):", n);
    for (size_t i = 0; i < n; i++) printf(" %02x", key[i]);
    putchar('\n');
    return 0;
}
