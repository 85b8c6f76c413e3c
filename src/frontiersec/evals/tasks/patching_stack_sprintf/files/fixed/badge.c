/* badge: prints a visitor badge line "VISITOR <name> (<company>)" for each input line
 * of the form "name,company". */
#include <stdio.h>
#include <string.h>

static void print_badge(const char *name, const char *company) {
    char badge[48];
    snprintf(badge, sizeof badge, "VISITOR %s (%s)", name, company);
    puts(badge);
}

int main(void) {
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        char *comma = strchr(line, ',');
        if (!comma) { puts("bad line"); continue; }
        *comma = '\0';
        print_badge(line, comma + 1);
    }
    return 0;
}
