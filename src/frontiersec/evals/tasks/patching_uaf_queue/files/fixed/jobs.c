/* jobs: a print-job queue. Commands on stdin: "add <name>", "done" (finish the first job),
 * "list". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job { char name[24]; struct job *next; };
static struct job *head;

int main(void) {
    char cmd[8], arg[24];
    while (scanf("%7s", cmd) == 1) {
        if (!strcmp(cmd, "add") && scanf("%23s", arg) == 1) {
            struct job *j = calloc(1, sizeof *j), **p = &head;
            strcpy(j->name, arg);
            while (*p) p = &(*p)->next;
            *p = j;
        } else if (!strcmp(cmd, "done") && head) {
            struct job *first = head;
            head = first->next;
            printf("finished %s\n", first->name);
            free(first);
        } else if (!strcmp(cmd, "list")) {
            for (struct job *j = head; j; j = j->next) printf("queued %s\n", j->name);
        }
    }
    return 0;
}
