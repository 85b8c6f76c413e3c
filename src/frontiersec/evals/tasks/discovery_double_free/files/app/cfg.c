/* cfg: reads "key=value" lines; a repeated key replaces the old value; "-key" deletes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXKEYS 8
static char *keys[MAXKEYS], *vals[MAXKEYS];

static int find(const char *k) {
    for (int i = 0; i < MAXKEYS; i++) if (keys[i] && !strcmp(keys[i], k)) return i;
    return -1;
}

int main(void) {
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '-') {
            int i = find(line + 1);
            if (i >= 0) { free(vals[i]); free(keys[i]); keys[i] = NULL; }
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        int i = find(line);
        if (i >= 0) { free(vals[i]); vals[i] = strdup(eq + 1); continue; }
        for (i = 0; i < MAXKEYS && keys[i]; i++) ;
        if (i == MAXKEYS) continue;
        if (vals[i]) free(vals[i]);          /* slot reuse: drop a stale value */
        keys[i] = strdup(line);
        vals[i] = strdup(eq + 1);
    }
    for (int i = 0; i < MAXKEYS; i++) if (keys[i]) printf("%s=%s\n", keys[i], vals[i]);
    return 0;
}
