// What each file operation of routing costs on this disk, one at a time, in a loop of N files:
// the figures behind "a rename costs 14 to 17 µs" in docs/benchmarks.md.
//
//   cc -O2 -o /tmp/file_costs bench/file_costs.c && /tmp/file_costs DIR [N]
//
// DIR must be an empty folder on the filesystem to measure (it is left full: delete it after;
// on ext4 without a journal, wait 5 minutes after deleting many files before measuring again).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int folder(int parent, const char *name) {
    mkdirat(parent, name, 0755);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY);
    if (fd < 0) { perror(name); exit(1); }
    return fd;
}

#define STEP(label, body)                                                     \
    do {                                                                      \
        double start = now();                                                 \
        for (int i = 0; i < n; i++) { body; }                                 \
        printf("%-44s %8.2f µs\n", label, (now() - start) / n * 1e6);        \
    } while (0)

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s DIR [N]\n", argv[0]); return 64; }
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    int root = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (root < 0) { perror(argv[1]); return 66; }
    int inbox = folder(root, "inbox"), processing = folder(root, "processing");
    int outcome = folder(root, "outcome"), drafts = folder(root, "drafts");
    char name[64], other[64], report[500];
    memset(report, 'x', sizeof report);
    struct stat info;

    STEP("create + write 500 B + close (a manifest)", {
        snprintf(name, sizeof name, "m%07d.json", i);
        int fd = openat(inbox, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        write(fd, report, 300); close(fd);
    });
    STEP("rename between folders (the claim)", {
        snprintf(name, sizeof name, "m%07d.json", i);
        renameat2(inbox, name, processing, name, RENAME_NOREPLACE);
    });
    STEP("lstat + open + fstat + read + close", {
        snprintf(name, sizeof name, "m%07d.json", i);
        fstatat(processing, name, &info, AT_SYMLINK_NOFOLLOW);
        int fd = openat(processing, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        fstat(fd, &info); read(fd, report, sizeof report); read(fd, report, 1); close(fd);
    });
    STEP("stat of an absent name (free-name check)", {
        snprintf(name, sizeof name, "m%07d.json.report.json", i);
        fstatat(outcome, name, &info, AT_SYMLINK_NOFOLLOW);
    });
    STEP("report created under its name (O_EXCL)", {
        snprintf(name, sizeof name, "m%07d.json.report.json", i);
        int fd = openat(outcome, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        write(fd, report, sizeof report); close(fd);
    });
    STEP("report as draft: unlink + create + rename", {
        snprintf(name, sizeof name, ".m%07d.json.report.txt.tmp", i);
        snprintf(other, sizeof other, "m%07d.json.report.txt", i);
        unlinkat(drafts, name, 0);
        int fd = openat(drafts, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        write(fd, report, sizeof report); close(fd);
        renameat2(drafts, name, drafts, other, RENAME_NOREPLACE);
    });
    STEP("rename between folders (the move)", {
        snprintf(name, sizeof name, "m%07d.json", i);
        renameat2(processing, name, outcome, name, RENAME_NOREPLACE);
    });
    return 0;
}
