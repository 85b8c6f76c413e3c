/* points: loads a binary point cloud: u16 count, then count records of 3 x i32. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct point { int32_t x, y, z; };

int main(void) {
    uint16_t count;
    if (fread(&count, sizeof count, 1, stdin) != 1) return 1;
    size_t bytes = (size_t)count * sizeof(struct point);
    struct point *pts = malloc(bytes ? bytes : 1);
    if (!pts) return 1;
    size_t got = 0;
    struct point p;
    while (got < count && fread(&p, sizeof p, 1, stdin) == 1)
        pts[got++] = p;
    long sx = 0;
    for (size_t i = 0; i < got; i++) sx += pts[i].x;
    printf("%zu points, sum x = %ld\n", got, sx);
    free(pts);
    return 0;
}
