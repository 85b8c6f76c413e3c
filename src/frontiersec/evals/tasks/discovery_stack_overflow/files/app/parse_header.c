/* parse_header: reads "Name: value" HTTP-style header lines and prints them. */
#include <stdio.h>
#include <string.h>

static void handle_line(const char *line) {
    char name[16];
    const char *colon = strchr(line, ':');
    if (!colon)
        return;
    size_t n = (size_t)(colon - line);
    memcpy(name, line, n);          /* header name length is never checked */
    name[n] = '\0';
    printf("header %s =%s", name, colon + 1);
}

int main(void) {
    char line[512];
    while (fgets(line, sizeof line, stdin))
        handle_line(line);
    return 0;
}
