/*
 * ssh.h — every remote step of the launcher goes through the system's own
 * OpenSSH client (`ssh`, `scp`) and `rsync`, with the config's user and key,
 * BatchMode=yes, a connect timeout, StrictHostKeyChecking=accept-new and a
 * known_hosts file of our own (~/.ray/known_hosts). No shell is involved on
 * this side: each tool is fork+exec'd with an argv.
 */
#ifndef RAY_LAUNCHER_SSH_H
#define RAY_LAUNCHER_SSH_H

#include <stdbool.h>
#include <stddef.h>

struct buf;

/* How to reach the nodes of one cluster. Strings are borrowed. */
struct launch_ssh {
    const char *user;        /* NULL: ssh's default */
    const char *key;         /* private key file, or NULL: ssh's defaults */
    char known_hosts[4096];  /* filled by launch_ssh_init */
    char control_path[4096]; /* ~/.ray/ssh/%C: one ControlMaster socket per host
                              * ("" when $HOME is too long for a socket path) */
    int connect_timeout_s;
};

/* Fill S (USER and KEY are borrowed and must outlive S); creates ~/.ray. */
void launch_ssh_init(struct launch_ssh *s, const char *user, const char *key);

/* Run the program ARGV (found on PATH) as launch_ssh_run runs ssh: INPUT
 * to its stdin, its output into OUT (or ours). Returns its exit status, 127
 * when it cannot be started, or -1 (errno). */
int launch_run_argv(char *const *argv, const char *input, size_t inlen, struct buf *out);

/* End the ControlMaster connection to HOST, if there is one (ray down). */
void launch_ssh_close(const struct launch_ssh *s, const char *host);

/* Run the shell command CMD on HOST (the remote login shell runs it). INPUT
 * (INLEN bytes, may be NULL) is written to its stdin, which is then closed.
 * With OUT, stdout and stderr are captured there together; without it they
 * go to ours. Returns the command's exit status (255: ssh itself failed, as
 * ssh reports it), or -1 when ssh could not be run (errno). */
int launch_ssh_run(const struct launch_ssh *s, const char *host, const char *cmd,
                   const char *input, size_t inlen, struct buf *out);

/* Run CMD on HOST with a terminal (ssh -t), our stdin, stdout and stderr
 * its own; for `ray attach`. Returns its exit status or -1. */
int launch_ssh_interactive(const struct launch_ssh *s, const char *host, const char *cmd);

/* Copy LOCAL to REMOTE on HOST (REMOTE an absolute path; a directory is
 * copied as its contents into REMOTE). With rsync (USE_RSYNC: the remote has
 * it) only what changed moves, and *CHANGED counts the files that did;
 * otherwise scp copies everything. EXCLUDE (NEXCL patterns) go to rsync's
 * --exclude. Output of the tool is captured in OUT. Returns the tool's exit
 * status (0 = done) or -1 (errno). DOWN reverses the direction (REMOTE to
 * LOCAL). */
int launch_ssh_copy(const struct launch_ssh *s, const char *host, const char *local,
                    const char *remote, bool down, bool use_rsync, char *const *exclude,
                    size_t nexcl, int *changed, struct buf *out);

/* The last line of OUT that says something, for a one-line error ("" if
 * none). */
void launch_ssh_last_line(const struct buf *out, char *line, size_t linelen);

/* Quote S for a POSIX shell ('...'), appended to B; B->data is then
 * NUL-terminated (not counted in B->len). */
void launch_sh_quote(struct buf *b, const char *s);

#endif
