/* csvfield: prints the 2nd field of each CSV line, copied into a right-sized heap buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *start = strchr(line, ',');
        if (!start) { puts("-"); continue; }
        start++;
        char *end = strchr(start, ',');
        size_t len = end ? (size_t)(end - start) : strlen(start);
        char *field = malloc(len);
        strcpy(field, start);
        field[len] = '\0';
        puts(field);
        free(field);
    }
    return 0;
}
