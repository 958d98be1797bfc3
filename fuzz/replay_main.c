/* Runs a fuzz target over files without libFuzzer: each argument is a file or a folder of files
 * (the seed corpus, the regression inputs that once crashed). A crash or a sanitizer report fails
 * the ctest; a missing folder is skipped. Prints how many inputs ran. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
    uint8_t *bytes;
    size_t size;
    mlp_error error;
    if (mlp_file_read_all(path, (size_t)1 << 26, &bytes, &size, &error) != 0) {
        fprintf(stderr, "%s\n", error.message);
        return -1;
    }
    LLVMFuzzerTestOneInput(bytes, size);
    free(bytes);
    return 0;
}

int main(int argc, char **argv) {
    int inputs = 0, failures = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat(argv[i], &info) != 0) continue; /* e.g. no regressions yet */
        if (!S_ISDIR(info.st_mode)) {
            failures += run_file(argv[i]) != 0;
            inputs++;
            continue;
        }
        DIR *folder = opendir(argv[i]);
        if (!folder) continue;
        struct dirent *entry;
        while ((entry = readdir(folder)) != NULL) {
            if (entry->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], entry->d_name);
            if (stat(path, &info) != 0 || !S_ISREG(info.st_mode)) continue;
            failures += run_file(path) != 0;
            inputs++;
        }
        closedir(folder);
    }
    printf("%d inputs replayed, %d unreadable\n", inputs, failures);
    if (inputs == 0) {
        printf("SKIPPED: no inputs found\n");
        return 77;
    }
    return failures ? 1 : 0;
}
