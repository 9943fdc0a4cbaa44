/*
 * state.c — the launcher's per-cluster state file (see state.h). Written as
 * a small JSON document; read back with libyaml (JSON of this shape is
 * YAML), so no second parser lives in the tree.
 */
#include "launcher/state.h"

#include "common/buf.h"
#include "common/token.h"
#include "common/xmalloc.h"
#include "session/session.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

static void state_dir(char *out, size_t outlen)
{
    const char *home = getenv("HOME");
    snprintf(out, outlen, "%s/.ray/clusters", home && *home ? home : "/root");
}

void launch_state_path(const char *name, const char *ext, char *out, size_t outlen)
{
    char dir[4096], safe[128];
    state_dir(dir, sizeof dir);
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof safe; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        safe[i] = ok && !(i == 0 && ch == '.') ? ch : '_';
    }
    safe[i] = '\0';
    snprintf(out, outlen, "%s/%s.%s", dir, safe, ext);
}

static void json_str(struct buf *b, const char *s)
{
    buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            buf_printf(b, "\\u%04x", ch);
        else
            buf_append(b, s, 1);
    }
    buf_append(b, "\"", 1);
}

int launch_state_save(const struct launch_state *st, char *err, size_t errlen)
{
    char dir[4096], path[4200], tmp[4300];
    state_dir(dir, sizeof dir);
    if (session_mkdirs(dir, 0700) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    launch_state_path(st->cluster_name, "json", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    struct buf b = BUF_INIT;
    buf_printf(&b, "{\n  \"cluster_name\": ");
    json_str(&b, st->cluster_name);
    buf_printf(&b, ",\n  \"provider\": ");
    json_str(&b, st->provider);
    buf_printf(&b, ",\n  \"config\": ");
    json_str(&b, st->config);
    buf_printf(&b, ",\n  \"nodes\": [");
    for (size_t i = 0; i < st->n; i++) {
        buf_printf(&b, "%s\n    {\"ip\": ", i ? "," : "");
        json_str(&b, st->nodes[i].ip);
        buf_printf(&b, ", \"kind\": ");
        json_str(&b, st->nodes[i].kind);
        buf_printf(&b, ", \"state\": ");
        json_str(&b, st->nodes[i].state);
        if (st->nodes[i].name[0]) {
            buf_printf(&b, ", \"name\": ");
            json_str(&b, st->nodes[i].name);
        }
        buf_printf(&b, "}");
    }
    buf_printf(&b, "\n  ]\n}\n");
    FILE *fp = fopen(tmp, "w");
    int rc = -1;
    if (fp == NULL || fwrite(b.data, 1, b.len, fp) != b.len || fclose(fp) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
    } else if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    } else {
        rc = 0;
    }
    buf_free(&b);
    return rc;
}

static const char *node_text(yaml_document_t *d, int id)
{
    yaml_node_t *n = yaml_document_get_node(d, id);
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int launch_state_load(const char *name, struct launch_state *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    char path[4200];
    launch_state_path(name, "json", path, sizeof path);
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    yaml_document_t d;
    int rc = -1;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, fp);
    if (!yaml_parser_load(&p, &d)) {
        snprintf(err, errlen, "%s: not a launcher state file (%s)", path,
                 p.problem ? p.problem : "unreadable");
        goto out;
    }
    yaml_node_t *root = yaml_document_get_root_node(&d);
    if (root == NULL || root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s: not a launcher state file", path);
        goto doc;
    }
    for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top; q++) {
        const char *k = node_text(&d, q->key), *v = node_text(&d, q->value);
        if (k == NULL)
            continue;
        if (v && strcmp(k, "cluster_name") == 0)
            snprintf(st->cluster_name, sizeof st->cluster_name, "%s", v);
        else if (v && strcmp(k, "provider") == 0)
            snprintf(st->provider, sizeof st->provider, "%s", v);
        else if (v && strcmp(k, "config") == 0)
            snprintf(st->config, sizeof st->config, "%s", v);
        else if (strcmp(k, "nodes") == 0) {
            yaml_node_t *seq = yaml_document_get_node(&d, q->value);
            if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
                continue;
            for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
                yaml_node_t *m = yaml_document_get_node(&d, *it);
                if (m == NULL || m->type != YAML_MAPPING_NODE)
                    continue;
                const char *ip = NULL, *kind = "worker", *state = "up", *mname = "";
                for (yaml_node_pair_t *r = m->data.mapping.pairs.start; r < m->data.mapping.pairs.top; r++) {
                    const char *nk = node_text(&d, r->key), *nv = node_text(&d, r->value);
                    if (nk == NULL || nv == NULL)
                        continue;
                    if (strcmp(nk, "ip") == 0)
                        ip = nv;
                    else if (strcmp(nk, "kind") == 0)
                        kind = nv;
                    else if (strcmp(nk, "state") == 0)
                        state = nv;
                    else if (strcmp(nk, "name") == 0)
                        mname = nv;
                }
                if (ip) {
                    launch_state_set(st, ip, kind, state);
                    launch_state_name(st, ip, mname);
                }
            }
        }
    }
    if (strcmp(st->cluster_name, name) != 0) {
        snprintf(err, errlen, "%s: the state of another cluster ('%s')", path, st->cluster_name);
        launch_state_free(st);
        goto doc;
    }
    rc = 0;
doc:
    yaml_document_delete(&d);
out:
    yaml_parser_delete(&p);
    fclose(fp);
    return rc;
}

struct launch_node *launch_state_find(struct launch_state *st, const char *ip)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->nodes[i].ip, ip) == 0)
            return &st->nodes[i];
    return NULL;
}

void launch_state_set(struct launch_state *st, const char *ip, const char *kind, const char *state)
{
    struct launch_node *n = launch_state_find(st, ip);
    if (n == NULL) {
        st->nodes = xreallocarray(st->nodes, st->n + 1, sizeof *st->nodes);
        n = &st->nodes[st->n++];
        memset(n, 0, sizeof *n);
        snprintf(n->ip, sizeof n->ip, "%s", ip);
    }
    snprintf(n->kind, sizeof n->kind, "%s", kind);
    snprintf(n->state, sizeof n->state, "%s", state);
}

void launch_state_name(struct launch_state *st, const char *ip, const char *name)
{
    struct launch_node *n = launch_state_find(st, ip);
    if (n)
        snprintf(n->name, sizeof n->name, "%s", name);
}

void launch_state_remove(const char *name)
{
    char path[4200];
    launch_state_path(name, "json", path, sizeof path);
    unlink(path);
}

void launch_state_free(struct launch_state *st)
{
    free(st->nodes);
    st->nodes = NULL;
    st->n = 0;
}

int launch_state_token(const char *name, char *out, size_t outlen, char *err, size_t errlen)
{
    char path[4200];
    launch_state_path(name, "token", path, sizeof path);
    if (token_read(path, out, outlen) == 0)
        return 0;
    char tok[128];
    session_token_new(tok);
    if (token_write(path, tok) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(out, outlen, "%s", tok);
    return 0;
}
