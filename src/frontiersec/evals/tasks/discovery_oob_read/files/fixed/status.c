/* status: maps numeric HTTP-like status codes from stdin to their reason phrases. */
#include <stdio.h>
#include <stdlib.h>

static const char *reason(int code) {
    const char *const reasons[] = {
        "Continue", "OK", "Multiple Choices", "Bad Request", "Internal Server Error",
    };
    int cls = code / 100 - 1;          /* 1xx -> 0 ... 5xx -> 4 */
    if (cls < 0 || cls > 4) return "Unknown";
    return reasons[cls];
}

int main(void) {
    int code;
    while (scanf("%d", &code) == 1)
        printf("%d %s\n", code, reason(code));
    return 0;
}
