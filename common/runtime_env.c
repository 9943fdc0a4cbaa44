/*
 * runtime_env.c — the runtime_env JSON decoder, merge and canonical writer
 * (runtime_env.h). A small recursive-descent JSON reader over the whole
 * grammar (objects, arrays, strings with escapes, numbers, literals) with a
 * depth limit, so any text gets a precise answer; only the two keys Ray's
 * runtime_env has here are accepted. Fuzzed by tests/fuzz/fuzz_runtime_env.c.
 */
#include "common/runtime_env.h"

#include "common/ids.h"
#include "common/sha256.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct rd {
    const char *p, *end;
    char *err;
    size_t errlen;
    int rc;
    int depth;
};

static int fail(struct rd *r, const char *fmt, const char *a)
{
    if (r->rc == RENV_OK) {
        snprintf(r->err, r->errlen, fmt, a ? a : "");
        r->rc = RENV_EINVAL;
    }
    return -1;
}

static void ws(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* A JSON string at r->p into *OUT (malloc'd, NUL-terminated; NUL inside is refused). */
static int str(struct rd *r, char **out)
{
    *out = NULL;
    if (r->p >= r->end || *r->p != '"')
        return fail(r, "runtime_env is not JSON: a string was expected%s", NULL);
    r->p++;
    size_t cap = 16, n = 0;
    char *s = malloc(cap);
    if (s == NULL) {
        r->rc = RENV_ENOMEM;
        return -1;
    }
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p++;
        uint32_t cp = c;
        char buf[4];
        size_t bl = 1;
        if (c < 0x20) {
            free(s);
            return fail(r, "runtime_env is not JSON: a control character in a string%s", NULL);
        }
        if (c == '\\') {
            if (r->p >= r->end)
                break;
            char e = *r->p++;
            switch (e) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': {
                if (r->end - r->p < 4) {
                    free(s);
                    return fail(r, "runtime_env is not JSON: a bad \\u escape%s", NULL);
                }
                cp = 0;
                for (int i = 0; i < 4; i++) {
                    int h = ids_hex_digit(r->p[i]);
                    if (h < 0) {
                        free(s);
                        return fail(r, "runtime_env is not JSON: a bad \\u escape%s", NULL);
                    }
                    cp = cp << 4 | (uint32_t)h;
                }
                r->p += 4;
                if (cp >= 0xd800 && cp <= 0xdbff && r->end - r->p >= 6 && r->p[0] == '\\' &&
                    r->p[1] == 'u') {
                    uint32_t lo = 0;
                    int ok = 1;
                    for (int i = 0; i < 4; i++) {
                        int h = ids_hex_digit(r->p[2 + i]);
                        if (h < 0)
                            ok = 0;
                        lo = lo << 4 | (uint32_t)(h < 0 ? 0 : h);
                    }
                    if (ok && lo >= 0xdc00 && lo <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        r->p += 6;
                    }
                }
                if (cp == 0) {
                    free(s);
                    return fail(r, "runtime_env: a string holds a NUL character%s", NULL);
                }
                break;
            }
            default:
                free(s);
                return fail(r, "runtime_env is not JSON: a bad escape in a string%s", NULL);
            }
            if (cp < 0x80) {
                buf[0] = (char)cp;
            } else if (cp < 0x800) {
                buf[0] = (char)(0xc0 | cp >> 6);
                buf[1] = (char)(0x80 | (cp & 0x3f));
                bl = 2;
            } else if (cp < 0x10000) {
                buf[0] = (char)(0xe0 | cp >> 12);
                buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                buf[2] = (char)(0x80 | (cp & 0x3f));
                bl = 3;
            } else {
                buf[0] = (char)(0xf0 | cp >> 18);
                buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                buf[3] = (char)(0x80 | (cp & 0x3f));
                bl = 4;
            }
        } else {
            buf[0] = (char)c;
        }
        if (n + bl + 1 > cap) {
            cap *= 2;
            char *ns = realloc(s, cap);
            if (ns == NULL) {
                free(s);
                r->rc = RENV_ENOMEM;
                return -1;
            }
            s = ns;
        }
        memcpy(s + n, buf, bl);
        n += bl;
    }
    if (r->p >= r->end) {
        free(s);
        return fail(r, "runtime_env is not JSON: a string does not end%s", NULL);
    }
    r->p++;
    s[n] = '\0';
    *out = s;
    return 0;
}

/* Skip any JSON value; *KIND says what it was ("a string", "a number", ...). */
static int skip(struct rd *r, const char **kind)
{
    ws(r);
    if (r->p >= r->end)
        return fail(r, "runtime_env is not JSON: a value is missing%s", NULL);
    if (++r->depth > RENV_MAX_DEPTH)
        return fail(r, "runtime_env is nested too deeply%s", NULL);
    char c = *r->p;
    int rc = 0;
    if (c == '"') {
        char *s;
        *kind = "a string";
        rc = str(r, &s);
        free(s);
    } else if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        *kind = c == '{' ? "an object" : "an array";
        r->p++;
        ws(r);
        if (r->p < r->end && *r->p == close) {
            r->p++;
        } else {
            for (;;) {
                const char *k;
                if (c == '{') {
                    char *key;
                    ws(r);
                    if (str(r, &key) < 0)
                        return -1;
                    free(key);
                    ws(r);
                    if (r->p >= r->end || *r->p != ':')
                        return fail(r, "runtime_env is not JSON: ':' expected%s", NULL);
                    r->p++;
                }
                if (skip(r, &k) < 0)
                    return -1;
                ws(r);
                if (r->p < r->end && *r->p == ',') {
                    r->p++;
                    continue;
                }
                if (r->p < r->end && *r->p == close) {
                    r->p++;
                    break;
                }
                return fail(r, "runtime_env is not JSON: ',' or a closing bracket expected%s", NULL);
            }
        }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        *kind = "a number";
        const char *s = r->p;
        if (*r->p == '-')
            r->p++;
        while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
                                 *r->p == 'E' || *r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p == s + (c == '-'))
            rc = fail(r, "runtime_env is not JSON: a bad number%s", NULL);
    } else {
        static const char *const lits[] = { "true", "false", "null" };
        rc = -1;
        for (int i = 0; i < 3; i++) {
            size_t l = strlen(lits[i]);
            if ((size_t)(r->end - r->p) >= l && memcmp(r->p, lits[i], l) == 0) {
                r->p += l;
                *kind = i == 2 ? "null" : "a boolean";
                rc = 0;
                break;
            }
        }
        if (rc < 0)
            fail(r, "runtime_env is not JSON: unexpected text%s", NULL);
    }
    r->depth--;
    return rc;
}

void renv_free(struct renv *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nvars; i++) {
        free(e->names[i]);
        free(e->values[i]);
    }
    free(e->names);
    free(e->values);
    free(e->working_dir);
    free(e->working_dir_hash);
    memset(e, 0, sizeof *e);
}

bool renv_empty(const struct renv *e)
{
    return e->nvars == 0 && e->working_dir == NULL && e->working_dir_hash == NULL;
}

/* Set NAME (taken) to VALUE (taken), keeping names sorted and unique. */
static int set_var(struct renv *e, char *name, char *value)
{
    size_t i = 0;
    while (i < e->nvars && strcmp(e->names[i], name) < 0)
        i++;
    if (i < e->nvars && strcmp(e->names[i], name) == 0) {
        free(e->names[i]);
        free(e->values[i]);
        e->names[i] = name;
        e->values[i] = value;
        return RENV_OK;
    }
    char **nn = realloc(e->names, (e->nvars + 1) * sizeof *nn);
    if (nn == NULL)
        goto oom;
    e->names = nn;
    char **nv = realloc(e->values, (e->nvars + 1) * sizeof *nv);
    if (nv == NULL)
        goto oom;
    e->values = nv;
    memmove(e->names + i + 1, e->names + i, (e->nvars - i) * sizeof *nn);
    memmove(e->values + i + 1, e->values + i, (e->nvars - i) * sizeof *nv);
    e->names[i] = name;
    e->values[i] = value;
    e->nvars++;
    return RENV_OK;
oom:
    free(name);
    free(value);
    return RENV_ENOMEM;
}

static bool name_ok(const char *s)
{
    if (!s[0] || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static bool hash_ok(const char *s)
{
    if (strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

static int env_vars(struct rd *r, struct renv *out)
{
    ws(r);
    if (r->p >= r->end)
        return fail(r, "runtime_env is not JSON: the value of env_vars is missing%s", NULL);
    if (*r->p != '{') {
        const char *kind = "nothing";
        if (skip(r, &kind) < 0)
            return -1;
        return fail(r, "runtime_env.env_vars must be an object of strings (got %s)", kind);
    }
    r->p++;
    ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        char *name, *value;
        ws(r);
        if (str(r, &name) < 0)
            return -1;
        ws(r);
        if (r->p >= r->end || *r->p != ':') {
            free(name);
            return fail(r, "runtime_env is not JSON: ':' expected%s", NULL);
        }
        r->p++;
        ws(r);
        if (!name_ok(name)) {
            char msg[200];
            snprintf(msg, sizeof msg, "%.64s", name);
            free(name);
            return fail(r, "runtime_env.env_vars: '%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)",
                        msg);
        }
        if (r->p >= r->end || *r->p != '"') {
            const char *kind = "nothing";
            char msg[100];
            snprintf(msg, sizeof msg, "%.64s", name);
            free(name);
            if (r->p < r->end && skip(r, &kind) < 0)
                return -1;
            char full[300];
            snprintf(full, sizeof full, "runtime_env.env_vars.%s must be a string (got %s)", msg, kind);
            return fail(r, "%s", full);
        }
        if (str(r, &value) < 0) {
            free(name);
            return -1;
        }
        if (out->nvars >= RENV_MAX_VARS) {
            free(name);
            free(value);
            return fail(r, "runtime_env.env_vars: more than 256 variables%s", NULL);
        }
        if (set_var(out, name, value) != RENV_OK) {
            r->rc = RENV_ENOMEM;
            return -1;
        }
        ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return 0;
        }
        return fail(r, "runtime_env is not JSON: ',' or '}' expected in env_vars%s", NULL);
    }
}

int renv_parse(const char *text, size_t len, int flags, struct renv *out, char *err, size_t errlen)
{
    static char dummy[1];
    struct rd r = { text, text + len, err ? err : dummy, err ? errlen : 1, RENV_OK, 0 };
    renv_free(out);
    if (text == NULL)
        return RENV_OK;
    if (len > RENV_MAX_TEXT) {
        fail(&r, "runtime_env is longer than 64 KiB%s", NULL);
        return r.rc;
    }
    ws(&r);
    if (r.p == r.end)
        return RENV_OK;
    if (*r.p != '{') {
        fail(&r, "runtime_env is not JSON: it must be an object {...}%s", NULL);
        return r.rc;
    }
    r.p++;
    ws(&r);
    bool first = true, seen_env = false, seen_wd = false, seen_hash = false;
    while (r.p < r.end && *r.p != '}') {
        if (!first) {
            if (*r.p != ',') {
                fail(&r, "runtime_env is not JSON: ',' or '}' expected%s", NULL);
                goto out;
            }
            r.p++;
            ws(&r);
        }
        first = false;
        char *key;
        if (str(&r, &key) < 0)
            goto out;
        ws(&r);
        if (r.p >= r.end || *r.p != ':') {
            free(key);
            fail(&r, "runtime_env is not JSON: ':' expected%s", NULL);
            goto out;
        }
        r.p++;
        ws(&r);
        bool is_hash = (flags & RENV_INTERNAL) && strcmp(key, "working_dir_hash") == 0;
        if (strcmp(key, "env_vars") == 0) {
            free(key);
            if (seen_env) {
                fail(&r, "runtime_env: key 'env_vars' given twice%s", NULL);
                goto out;
            }
            seen_env = true;
            if (env_vars(&r, out) < 0)
                goto out;
        } else if (strcmp(key, "working_dir") == 0 || is_hash) {
            const char *what = is_hash ? "working_dir_hash" : "working_dir";
            free(key);
            bool *seen = is_hash ? &seen_hash : &seen_wd;
            if (*seen) {
                fail(&r, "runtime_env: key '%s' given twice", what);
                goto out;
            }
            *seen = true;
            if (r.p >= r.end || *r.p != '"') {
                const char *kind = "nothing";
                if (r.p < r.end && skip(&r, &kind) < 0)
                    goto out;
                char msg[200];
                snprintf(msg, sizeof msg, "runtime_env.%s must be a string (got %s)", what, kind);
                fail(&r, "%s", msg);
                goto out;
            }
            char *v;
            if (str(&r, &v) < 0)
                goto out;
            if (v[0] == '\0' || (is_hash && !hash_ok(v))) {
                free(v);
                fail(&r, "runtime_env.%s must not be empty or malformed", what);
                goto out;
            }
            if (is_hash)
                out->working_dir_hash = v;
            else
                out->working_dir = v;
        } else {
            char msg[200];
            snprintf(msg, sizeof msg, "%.64s", key);
            free(key);
            fail(&r, "runtime_env: unknown key '%s' (known: env_vars, working_dir)", msg);
            goto out;
        }
        ws(&r);
    }
    if (r.p >= r.end) {
        fail(&r, "runtime_env is not JSON: '}' expected at the end%s", NULL);
        goto out;
    }
    r.p++;
    ws(&r);
    if (r.p != r.end)
        fail(&r, "runtime_env is not JSON: text after the object%s", NULL);
out:
    if (r.rc != RENV_OK)
        renv_free(out);
    return r.rc;
}

int renv_merge(const struct renv *base, const struct renv *call, struct renv *out)
{
    renv_free(out);
    const struct renv *parts[2] = { base, call };
    for (int p = 0; p < 2; p++) {
        if (parts[p] == NULL)
            continue;
        for (size_t i = 0; i < parts[p]->nvars; i++) {
            char *n = strdup(parts[p]->names[i]), *v = strdup(parts[p]->values[i]);
            if (n == NULL || v == NULL) {
                free(n);
                free(v);
                renv_free(out);
                return RENV_ENOMEM;
            }
            if (set_var(out, n, v) != RENV_OK) {
                renv_free(out);
                return RENV_ENOMEM;
            }
        }
        if (parts[p]->working_dir_hash) {
            free(out->working_dir_hash);
            if ((out->working_dir_hash = strdup(parts[p]->working_dir_hash)) == NULL) {
                renv_free(out);
                return RENV_ENOMEM;
            }
        }
    }
    return RENV_OK;
}

/* Append S as a JSON string to B (LEN used of CAP); -1 on OOM. */
static int put(char **b, size_t *len, size_t *cap, const char *s, bool quote)
{
    for (const char *p = s;; p++) {
        char esc[8];
        const char *add = NULL;
        size_t al = 0;
        if (*p == '\0')
            break;
        unsigned char c = (unsigned char)*p;
        if (quote && (c == '"' || c == '\\')) {
            esc[0] = '\\';
            esc[1] = (char)c;
            add = esc;
            al = 2;
        } else if (quote && c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            add = esc;
            al = 6;
        } else {
            add = p;
            al = 1;
        }
        if (*len + al + 2 > *cap) {
            size_t nc = *cap * 2 + al + 2;
            char *nb = realloc(*b, nc);
            if (nb == NULL)
                return -1;
            *b = nb;
            *cap = nc;
        }
        memcpy(*b + *len, add, al);
        *len += al;
    }
    (*b)[*len] = '\0';
    return 0;
}

char *renv_canonical(const struct renv *e)
{
    size_t cap = 64, len = 0;
    char *b = malloc(cap);
    if (b == NULL)
        return NULL;
    b[0] = '\0';
    if (renv_empty(e) || (e->nvars == 0 && e->working_dir_hash == NULL))
        return b;
    int rc = put(&b, &len, &cap, "{", false);
    if (e->nvars) {
        rc |= put(&b, &len, &cap, "\"env_vars\":{", false);
        for (size_t i = 0; i < e->nvars && rc == 0; i++) {
            rc |= put(&b, &len, &cap, i ? ",\"" : "\"", false);
            rc |= put(&b, &len, &cap, e->names[i], true);
            rc |= put(&b, &len, &cap, "\":\"", false);
            rc |= put(&b, &len, &cap, e->values[i], true);
            rc |= put(&b, &len, &cap, "\"", false);
        }
        rc |= put(&b, &len, &cap, "}", false);
    }
    if (e->working_dir_hash) {
        rc |= put(&b, &len, &cap, e->nvars ? ",\"working_dir_hash\":\"" : "\"working_dir_hash\":\"",
                  false);
        rc |= put(&b, &len, &cap, e->working_dir_hash, false);
        rc |= put(&b, &len, &cap, "\"", false);
    }
    rc |= put(&b, &len, &cap, "}", false);
    if (rc) {
        free(b);
        return NULL;
    }
    return b;
}

size_t renv_working_dir_limit(void)
{
    const char *e = getenv("RAY_WORKING_DIR_MAX_BYTES");
    char *end;
    unsigned long long v = e ? strtoull(e, &end, 10) : 0;
    return e && *end == '\0' && v > 0 ? (size_t)v : (size_t)100 << 20;
}

int renv_pack_dir(const char *dir, void **out, size_t *len, char hash[65], char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "runtime_env.working_dir: '%s' is not a directory", dir);
        return RENV_EINVAL;
    }
    int fds[2];
    if (pipe(fds) < 0) {
        snprintf(err, errlen, "runtime_env.working_dir: pipe: %s", strerror(errno));
        return RENV_EINVAL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "runtime_env.working_dir: fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return RENV_EINVAL;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("tar", "tar", "-cf", "-", "--sort=name", "--mtime=@0", "--owner=0", "--group=0",
               "--numeric-owner", "-C", dir, ".", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t limit = renv_working_dir_limit(), cap = 0, n = 0;
    char *buf = NULL;
    int rc = RENV_OK;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, nc);
            if (nb == NULL) {
                rc = RENV_ENOMEM;
                break;
            }
            buf = nb;
            cap = nc;
        }
        ssize_t r = read(fds[0], buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n > limit) {
            snprintf(err, errlen, "runtime_env.working_dir: %s packs to more than the %zu-byte "
                     "limit (RAY_WORKING_DIR_MAX_BYTES)", dir, limit);
            rc = RENV_EINVAL;
            break;
        }
    }
    close(fds[0]);
    if (rc != RENV_OK)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc == RENV_OK && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        snprintf(err, errlen, "runtime_env.working_dir: tar could not pack %s", dir);
        rc = RENV_EINVAL;
    }
    if (rc != RENV_OK) {
        if (rc == RENV_ENOMEM)
            snprintf(err, errlen, "runtime_env.working_dir: out of memory");
        free(buf);
        return rc;
    }
    uint8_t digest[SHA256_SIZE];
    sha256(buf ? buf : "", n, digest);
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_SIZE; i++) {
        hash[2 * i] = hx[digest[i] >> 4];
        hash[2 * i + 1] = hx[digest[i] & 15];
    }
    hash[64] = '\0';
    *out = buf;
    *len = n;
    return RENV_OK;
}
