/* sessions: a tiny session table driven by commands on stdin:
 *   open <name>   close <slot>   show <slot>                                  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4
struct session { char user[32]; int hits; };
static struct session *table[SLOTS];

int main(void) {
    char cmd[16], arg[64];
    while (scanf("%15s %63s", cmd, arg) == 2) {
        int slot = atoi(arg);
        if (!strcmp(cmd, "open")) {
            for (int i = 0; i < SLOTS; i++)
                if (!table[i]) {
                    table[i] = calloc(1, sizeof *table[i]);
                    snprintf(table[i]->user, sizeof table[i]->user, "%s", arg);
                    printf("opened %d\n", i);
                    break;
                }
        } else if (slot < 0 || slot >= SLOTS || !table[slot]) {
            puts("no such session");
        } else if (!strcmp(cmd, "close")) {
            free(table[slot]);
            puts("closed");
        } else if (!strcmp(cmd, "show")) {
            table[slot]->hits++;
            printf("%s hits=%d\n", table[slot]->user, table[slot]->hits);
        }
    }
    return 0;
}
