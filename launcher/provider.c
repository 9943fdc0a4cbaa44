/*
 * provider.c — the providers of provider.h. The cloud ones run the cloud's
 * own CLI with an argv (no shell), capture its JSON and read it with libyaml
 * (JSON of this kind is YAML), so no JSON parser of our own is needed.
 * Machines carry the cluster's name and their kind as labels (gcp) or tags
 * (azure), so `list` finds them from any shell.
 */
#include "launcher/provider.h"

#include "common/buf.h"
#include "common/xmalloc.h"
#include "launcher/config.h"
#include "launcher/ssh.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

/* ------------------------------------------------------------ JSON reading */

/* The node at PATH ("a.0.b": keys and list indexes) under N, or NULL. */
static yaml_node_t *jget(yaml_document_t *d, yaml_node_t *n, const char *path)
{
    char part[128];
    while (n && *path) {
        size_t len = strcspn(path, ".");
        snprintf(part, sizeof part, "%.*s", (int)(len < sizeof part ? len : sizeof part - 1), path);
        path += len + (path[len] == '.');
        if (n->type == YAML_SEQUENCE_NODE) {
            char *end;
            long i = strtol(part, &end, 10);
            yaml_node_item_t *it = n->data.sequence.items.start + i;
            n = *end == '\0' && i >= 0 && it < n->data.sequence.items.top
                    ? yaml_document_get_node(d, *it) : NULL;
        } else if (n->type == YAML_MAPPING_NODE) {
            yaml_node_t *found = NULL;
            for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(d, p->key);
                if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, part) == 0)
                    found = yaml_document_get_node(d, p->value);
            }
            n = found;
        } else {
            n = NULL;
        }
    }
    return n;
}

/* The scalar at PATH under N, "" if none. */
static const char *jstr(yaml_document_t *d, yaml_node_t *n, const char *path)
{
    yaml_node_t *v = jget(d, n, path);
    if (v == NULL || v->type != YAML_SCALAR_NODE)
        return "";
    const char *s = (const char *)v->data.scalar.value;
    return strcmp(s, "null") == 0 ? "" : s;
}

static int jload(const struct buf *out, yaml_document_t *d, char *err, size_t errlen)
{
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)(out->data ? out->data : ""), out->len);
    int ok = yaml_parser_load(&p, d);
    yaml_parser_delete(&p);
    if (!ok || yaml_document_get_root_node(d) == NULL) {
        if (ok)
            yaml_document_delete(d);
        snprintf(err, errlen, "could not read the CLI's JSON output");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ running a CLI */

struct argv_b {
    char *v[64];
    int n;
    char *own[64];
    int nown;
};

static void arg(struct argv_b *a, const char *s)
{
    if (a->n < 63)
        a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
}

static void argf(struct argv_b *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void argf(struct argv_b *a, const char *fmt, ...)
{
    char tmp[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (a->nown < 64) {
        a->own[a->nown] = xstrdup(tmp);
        arg(a, a->own[a->nown++]);
    }
}

static void argv_free(struct argv_b *a)
{
    for (int i = 0; i < a->nown; i++)
        free(a->own[i]);
}

/* Run A; 0 and its output in OUT, or -1 with its last line in ERR. */
static int cli_run(struct argv_b *a, struct buf *out, char *err, size_t errlen)
{
    int rc = launch_run_argv(a->v, NULL, 0, out);
    if (rc == 0)
        return 0;
    char line[512];
    launch_ssh_last_line(out, line, sizeof line);
    /* "gcloud compute instances list exited 1: ..." (the words before the options) */
    char what[256] = "";
    for (int i = 0, o = 0; i < a->n && i < 4 && a->v[i][0] != '-'; i++)
        o += snprintf(what + o, sizeof what - (size_t)o, "%s%s", i ? " " : "", a->v[i]);
    snprintf(err, errlen, "%s exited %d: %s", what, rc, line[0] ? line : "no message");
    return -1;
}

/* The cluster name as clouds accept it in names and labels: [a-z0-9-]. */
static void cloud_name(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *s && o + 1 < outlen && o < 40; s++)
        out[o++] = isalnum((unsigned char)*s) ? (char)tolower((unsigned char)*s) : '-';
    out[o] = '\0';
}

void launch_machine_name(const char *cluster, const char *kind, int idx, char *out, size_t outlen)
{
    char cn[64];
    cloud_name(cluster, cn, sizeof cn);
    if (idx > 0)
        snprintf(out, outlen, "ray-%s-%s-%d", cn, kind, idx);
    else
        snprintf(out, outlen, "ray-%s-%s", cn, kind);
}

/* ------------------------------------------------------------------- gcp */

static int gcp_zone(const struct launch_config *c, char *zone, size_t len, char *err, size_t errlen)
{
    if (c->availability_zone && *c->availability_zone)
        snprintf(zone, len, "%s", c->availability_zone);
    else if (c->region && *c->region)
        snprintf(zone, len, "%s-a", c->region);
    else {
        snprintf(err, errlen, "provider gcp needs provider.availability_zone (or provider.region)");
        return -1;
    }
    return 0;
}

static void gcp_ip(yaml_document_t *d, yaml_node_t *inst, char *ip, size_t iplen)
{
    const char *pub = jstr(d, inst, "networkInterfaces.0.accessConfigs.0.natIP");
    snprintf(ip, iplen, "%s", *pub ? pub : jstr(d, inst, "networkInterfaces.0.networkIP"));
}

/* node_config of gcp (the GCE API's instance body, as Ray's): machineType,
 * disks.0.initializeParams.sourceImage, scheduling.preemptible. */
static void gcp_type_args(struct argv_b *a, const struct launch_node_type *t)
{
    const char *v = launch_node_config(t, "machineType");
    if (v && *v)
        argf(a, "--machine-type=%s", strrchr(v, '/') ? strrchr(v, '/') + 1 : v);
    v = launch_node_config(t, "disks.0.initializeParams.sourceImage");
    if (v && *v) {
        const char *fam = strstr(v, "/family/");
        char proj[256] = "";
        if (strncmp(v, "projects/", 9) == 0)
            snprintf(proj, sizeof proj, "%.*s", (int)strcspn(v + 9, "/"), v + 9);
        if (fam)
            argf(a, "--image-family=%s", fam + 8);
        else
            argf(a, "--image=%s", strrchr(v, '/') ? strrchr(v, '/') + 1 : v);
        if (proj[0])
            argf(a, "--image-project=%s", proj);
    }
    v = launch_node_config(t, "scheduling.preemptible");
    if (v == NULL)
        v = launch_node_config(t, "scheduling.0.preemptible");
    if (v && (strcmp(v, "true") == 0 || strcmp(v, "True") == 0))
        arg(a, "--preemptible");
}

static int gcp_create(const struct launch_config *c, const char *name, const char *kind,
                      const struct launch_node_type *t, char *ip, size_t iplen, char *err,
                      size_t errlen)
{
    char zone[256], cn[64];
    if (gcp_zone(c, zone, sizeof zone, err, errlen) < 0)
        return -1;
    cloud_name(c->cluster_name, cn, sizeof cn);
    struct argv_b a = { 0 };
    arg(&a, "gcloud");
    arg(&a, "compute");
    arg(&a, "instances");
    arg(&a, "create");
    arg(&a, name);
    if (c->project_id && *c->project_id)
        argf(&a, "--project=%s", c->project_id);
    argf(&a, "--zone=%s", zone);
    argf(&a, "--labels=ray-cluster-name=%s,ray-node-kind=%s", cn, kind);
    gcp_type_args(&a, t);
    arg(&a, "--format=json");
    struct buf out = BUF_INIT;
    int rc = cli_run(&a, &out, err, errlen);
    argv_free(&a);
    yaml_document_t d;
    if (rc == 0 && (rc = jload(&out, &d, err, errlen)) == 0) {
        yaml_node_t *root = yaml_document_get_root_node(&d);
        yaml_node_t *inst = root->type == YAML_SEQUENCE_NODE ? jget(&d, root, "0") : root;
        gcp_ip(&d, inst, ip, iplen);
        if (!*ip) {
            snprintf(err, errlen, "gcloud made %s but gave no address for it", name);
            rc = -1;
        }
        yaml_document_delete(&d);
    }
    buf_free(&out);
    return rc;
}

/* Runs A (freed here), a CLI that prints a JSON array of machines, and
 * appends to *OUTV (*N entries) every element that PICK keeps (PICK fills
 * the machine from the element, for the cluster named CN). Returns 0, or -1
 * with ERR set; *OUTV is the caller's to free, also on failure. */
typedef bool (*machine_pick_fn)(yaml_document_t *d, yaml_node_t *elem, const char *cn,
                                struct launch_machine *m);
static int list_machines(struct argv_b *a, const char *cn, machine_pick_fn pick,
                         struct launch_machine **outv, size_t *n, char *err, size_t errlen)
{
    struct buf out = BUF_INIT;
    int rc = cli_run(a, &out, err, errlen);
    argv_free(a);
    yaml_document_t d;
    if (rc == 0 && (rc = jload(&out, &d, err, errlen)) == 0) {
        yaml_node_t *root = yaml_document_get_root_node(&d);
        for (int i = 0; root->type == YAML_SEQUENCE_NODE; i++) {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", i);
            yaml_node_t *elem = jget(&d, root, idx);
            if (elem == NULL)
                break;
            struct launch_machine m = { 0 };
            if (!pick(&d, elem, cn, &m))
                continue;
            *outv = xreallocarray(*outv, *n + 1, sizeof **outv);
            (*outv)[(*n)++] = m;
        }
        yaml_document_delete(&d);
    }
    buf_free(&out);
    return rc;
}

/* Runs A (freed here) for its status only: 0, or -1 with ERR set. */
static int run_only(struct argv_b *a, char *err, size_t errlen)
{
    struct buf out = BUF_INIT;
    int rc = cli_run(a, &out, err, errlen);
    argv_free(a);
    buf_free(&out);
    return rc;
}

/* gcloud's instance: one of cluster CN's that is not going away */
static bool gcp_pick(yaml_document_t *d, yaml_node_t *inst, const char *cn, struct launch_machine *m)
{
    const char *st = jstr(d, inst, "status");
    if (strcmp(jstr(d, inst, "labels.ray-cluster-name"), cn) != 0 || strcmp(st, "TERMINATED") == 0 ||
        strcmp(st, "STOPPING") == 0)
        return false;
    snprintf(m->name, sizeof m->name, "%s", jstr(d, inst, "name"));
    snprintf(m->kind, sizeof m->kind, "%s", jstr(d, inst, "labels.ray-node-kind"));
    gcp_ip(d, inst, m->ip, sizeof m->ip);
    return true;
}

static int gcp_list(const struct launch_config *c, struct launch_machine **outv, size_t *n,
                    char *err, size_t errlen)
{
    char cn[64];
    cloud_name(c->cluster_name, cn, sizeof cn);
    struct argv_b a = { 0 };
    arg(&a, "gcloud");
    arg(&a, "compute");
    arg(&a, "instances");
    arg(&a, "list");
    if (c->project_id && *c->project_id)
        argf(&a, "--project=%s", c->project_id);
    argf(&a, "--filter=labels.ray-cluster-name=%s", cn);
    arg(&a, "--format=json");
    *outv = NULL;
    *n = 0;
    return list_machines(&a, cn, gcp_pick, outv, n, err, errlen);
}

static int gcp_terminate(const struct launch_config *c, const char *name, char *err, size_t errlen)
{
    char zone[256];
    if (gcp_zone(c, zone, sizeof zone, err, errlen) < 0)
        return -1;
    struct argv_b a = { 0 };
    arg(&a, "gcloud");
    arg(&a, "compute");
    arg(&a, "instances");
    arg(&a, "delete");
    arg(&a, name);
    if (c->project_id && *c->project_id)
        argf(&a, "--project=%s", c->project_id);
    argf(&a, "--zone=%s", zone);
    arg(&a, "--quiet");
    return run_only(&a, err, errlen);
}

/* ----------------------------------------------------------------- azure */

static int az_need(const struct launch_config *c, bool create, char *err, size_t errlen)
{
    if (c->resource_group == NULL || !*c->resource_group) {
        snprintf(err, errlen, "provider azure needs provider.resource_group");
        return -1;
    }
    if (create && (c->location == NULL || !*c->location)) {
        snprintf(err, errlen, "provider azure needs provider.location");
        return -1;
    }
    return 0;
}

static int az_create(const struct launch_config *c, const char *name, const char *kind,
                     const struct launch_node_type *t, char *ip, size_t iplen, char *err,
                     size_t errlen)
{
    if (az_need(c, true, err, errlen) < 0)
        return -1;
    char cn[64], pub[4200] = "";
    cloud_name(c->cluster_name, cn, sizeof cn);
    struct argv_b a = { 0 };
    arg(&a, "az");
    arg(&a, "vm");
    arg(&a, "create");
    argf(&a, "--resource-group=%s", c->resource_group);
    argf(&a, "--name=%s", name);
    argf(&a, "--location=%s", c->location);
    /* node_config of azure, as Ray's: azure_arm_parameters.{vmSize,
     * imagePublisher, imageOffer, imageSku, imageVersion, priority} */
    const char *ip_ = launch_node_config(t, "azure_arm_parameters.imagePublisher");
    const char *io = launch_node_config(t, "azure_arm_parameters.imageOffer");
    const char *is = launch_node_config(t, "azure_arm_parameters.imageSku");
    const char *iv = launch_node_config(t, "azure_arm_parameters.imageVersion");
    if (ip_ && io && is)
        argf(&a, "--image=%s:%s:%s:%s", ip_, io, is, iv ? iv : "latest");
    else
        arg(&a, "--image=Ubuntu2204");
    const char *sz = launch_node_config(t, "azure_arm_parameters.vmSize");
    if (sz && *sz)
        argf(&a, "--size=%s", sz);
    const char *pr = launch_node_config(t, "azure_arm_parameters.priority");
    if (pr && *pr)
        argf(&a, "--priority=%s", pr);
    argf(&a, "--admin-username=%s", c->ssh_user && *c->ssh_user ? c->ssh_user : "ubuntu");
    if (c->ssh_private_key) {
        const char *home = getenv("HOME");
        if (strncmp(c->ssh_private_key, "~/", 2) == 0)
            snprintf(pub, sizeof pub, "%s/%s.pub", home ? home : "", c->ssh_private_key + 2);
        else
            snprintf(pub, sizeof pub, "%s.pub", c->ssh_private_key);
    }
    if (pub[0] && access(pub, R_OK) == 0)
        argf(&a, "--ssh-key-values=%s", pub);
    else
        arg(&a, "--generate-ssh-keys");
    arg(&a, "--tags");
    argf(&a, "ray-cluster-name=%s", cn);
    argf(&a, "ray-node-kind=%s", kind);
    arg(&a, "--output=json");
    struct buf out = BUF_INIT;
    int rc = cli_run(&a, &out, err, errlen);
    argv_free(&a);
    yaml_document_t d;
    if (rc == 0 && (rc = jload(&out, &d, err, errlen)) == 0) {
        yaml_node_t *root = yaml_document_get_root_node(&d);
        const char *p = jstr(&d, root, "publicIpAddress");
        snprintf(ip, iplen, "%s", *p ? p : jstr(&d, root, "privateIpAddress"));
        if (!*ip) {
            snprintf(err, errlen, "az made %s but gave no address for it", name);
            rc = -1;
        }
        yaml_document_delete(&d);
    }
    buf_free(&out);
    return rc;
}

/* az's VM: one of cluster CN's */
static bool az_pick(yaml_document_t *d, yaml_node_t *vm, const char *cn, struct launch_machine *m)
{
    if (strcmp(jstr(d, vm, "tags.ray-cluster-name"), cn) != 0)
        return false;
    snprintf(m->name, sizeof m->name, "%s", jstr(d, vm, "name"));
    snprintf(m->kind, sizeof m->kind, "%s", jstr(d, vm, "tags.ray-node-kind"));
    const char *p = jstr(d, vm, "publicIps");
    snprintf(m->ip, sizeof m->ip, "%s", *p ? p : jstr(d, vm, "privateIps"));
    return true;
}

static int az_list(const struct launch_config *c, struct launch_machine **outv, size_t *n,
                   char *err, size_t errlen)
{
    *outv = NULL;
    *n = 0;
    if (az_need(c, false, err, errlen) < 0)
        return -1;
    char cn[64];
    cloud_name(c->cluster_name, cn, sizeof cn);
    struct argv_b a = { 0 };
    arg(&a, "az");
    arg(&a, "vm");
    arg(&a, "list");
    argf(&a, "--resource-group=%s", c->resource_group);
    arg(&a, "--show-details");
    arg(&a, "--output=json");
    return list_machines(&a, cn, az_pick, outv, n, err, errlen);
}

static int az_terminate(const struct launch_config *c, const char *name, char *err, size_t errlen)
{
    if (az_need(c, false, err, errlen) < 0)
        return -1;
    struct argv_b a = { 0 };
    arg(&a, "az");
    arg(&a, "vm");
    arg(&a, "delete");
    argf(&a, "--resource-group=%s", c->resource_group);
    argf(&a, "--name=%s", name);
    arg(&a, "--yes");
    return run_only(&a, err, errlen);
}

/* ----------------------------------------------------------------- table */

static const struct launch_provider providers[] = {
    { "local", NULL, NULL, NULL, NULL, NULL },
    { "gcp", "gcloud", "the Google Cloud CLI (Debian package google-cloud-cli, "
                       "https://cloud.google.com/sdk/docs/install)",
      gcp_create, gcp_list, gcp_terminate },
    { "azure", "az", "the Azure CLI (Debian package azure-cli, "
                     "https://learn.microsoft.com/cli/azure/install-azure-cli)",
      az_create, az_list, az_terminate },
};

const struct launch_provider *launch_provider_get(const char *type)
{
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++)
        if (strcmp(providers[i].type, type) == 0)
            return &providers[i];
    return NULL;
}

int launch_provider_check(const struct launch_provider *p, char *err, size_t errlen)
{
    if (p->cli == NULL)
        return 0;
    const char *path = getenv("PATH");
    char dir[4096];
    while (path && *path) {
        size_t len = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s/%s", (int)len, len ? path : ".", p->cli);
        if (access(dir, X_OK) == 0)
            return 0;
        path += len + (path[len] == ':');
    }
    snprintf(err, errlen, "provider %s needs `%s`, which is not on PATH: install %s", p->type,
             p->cli, p->install);
    return -1;
}
