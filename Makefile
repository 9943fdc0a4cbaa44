# rayd — top-level Makefile.
#
#   make                 bin/rayd, bin/ray (link), lib/libray.a
#   make test            unit + integration tests (installs deps first)
#   make test SANITIZE=address,undefined
#   make demo            start a local cluster, run the pi job, stop it
#   make fuzz            build the libFuzzer targets: protocol decoder, cluster YAML (clang)
#   make bench           microbenchmarks (never part of CI)
#   make bench-long      ten minutes of tasks on one cluster (the rate over time, Redis memory)
#   make install PREFIX=/usr/local DESTDIR=
#
# Objects go to build/<flavour>/ so sanitizer builds never mix with plain ones.

CC ?= cc
OPTIMIZATION ?= -O2
PREFIX ?= /usr/local
SANITIZE ?=
WERROR ?= $(if $(CI),-Werror,)
V ?= 0

comma := ,
ifeq ($(SANITIZE),)
FLAVOUR := release
SANFLAGS :=
else
FLAVOUR := san-$(subst $(comma),-,$(SANITIZE))
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPTIMIZATION := -O1
endif

BUILD := build/$(FLAVOUR)
# the one version constant lives in common/version.h
VERSION := $(shell sed -n 's/^\#define RAYD_VERSION "\(.*\)"/\1/p' common/version.h)
WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers $(WERROR)
CPPFLAGS += -D_GNU_SOURCE -Iinclude -I. -MMD -MP
CFLAGS ?= -g
CFLAGS += -std=gnu11 -fPIC -pthread $(OPTIMIZATION) $(WARN) $(SANFLAGS)

# Third-party libraries are linked statically (SPEC section 1); libc, libm,
# libdl and libpthread stay dynamic so workers can dlopen job libraries.
STATIC_LIBS := -Wl,-Bstatic -lhiredis -levent_extra -levent_openssl -levent_core -levent_pthreads -lyaml \
               -lssl -lcrypto -Wl,-Bdynamic
SYS_LIBS := -lpthread -ldl -lm -lrt
LDFLAGS_RAYD := -rdynamic $(SANFLAGS)

ifeq ($(V),0)
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
else
Q :=
say :=
endif

# --- sources, by module (explicit lists) ------------------------------------
COMMON_SRCS := common/log.c common/xmalloc.c common/ids.c common/sha256.c \
               common/proto.c common/netutil.c common/buf.c common/idmap.c \
               common/token.c common/json.c common/http.c common/runtime_env.c
COMMON_SRCS += common/mem.c
COMMON_SRCS += common/wake.c
COMMON_SRCS += common/xids.c
COMMON_SRCS += common/direct_wire.c
COMMON_SRCS += common/populate.c
COMMON_SRCS += common/bigcopy.c
GCS_SRCS := gcs/gcs_client.c gcs/gcs_tables.c gcs/gcs_keys.c gcs/gcs_sync.c gcs/gcs_scripts.c
GCS_SRCS += gcs/gcs_argv.c
OBJSTORE_SRCS := objstore/alloc.c objstore/store.c objstore/spill.c
SCHED_SRCS := sched/resources.c sched/resparse.c sched/global.c sched/pg_policy.c sched/pg_spec.c
SCHED_SRCS += sched/local.c
SCHED_SRCS += sched/spillback.c
DAEMON_SRCS := daemon/redis_launch.c daemon/node.c \
               daemon/server.c daemon/heartbeat.c daemon/gpu.c \
               daemon/metrics.c daemon/dashboard.c
DAEMON_SRCS += daemon/recover.c
DAEMON_SRCS += daemon/bio.c
# the runtime (runtime/runtime.h): clients, tasks, actors, workers, jobs,
# objects, placement groups, the cluster view; linked into rayd with daemon/
RUNTIME_SRCS := runtime/runtime.c runtime/objects.c runtime/tasks.c runtime/actors.c \
                runtime/workers.c runtime/jobs.c runtime/cluster.c runtime/spillback.c \
                runtime/taskrec.c runtime/objlife.c runtime/observe.c
RUNTIME_SRCS += runtime/pg.c runtime/pg_node.c runtime/runtime_env.c
RUNTIME_SRCS += runtime/replay.c
RUNTIME_SRCS += runtime/objmgr_ops.c
RUNTIME_SRCS += runtime/counters.c
RUNTIME_SRCS += runtime/lease.c
RUNTIME_SRCS += runtime/actor_direct.c
DAEMON_SRCS += $(RUNTIME_SRCS)
DAEMON_SRCS += daemon/metrics_report.c
# the session dir and the settings table: shared by `ray start` and rayd
SESSION_SRCS := session/session.c session/config.c
# the object manager: transfers between nodes, the object table written behind
OBJMGR_SRCS := objmgr/objmgr.c objmgr/objrec.c
# common code rayd links and libray.a does not: TLS (OpenSSL), the job-library check
RAYD_COMMON_SRCS := common/tls.c common/joblib.c
# the cluster's state as users read it (tables, status, timeline): the CLI and the dashboard
STATE_SRCS := state/tables.c state/status.c state/status_pg.c state/timeline.c
CLI_SRCS := cli/cli.c cli/start.c cli/stop.c cli/status.c cli/submit_renv.c \
            cli/list.c cli/submit.c cli/nodes.c cli/logs.c cli/timeline.c cli/memory.c \
            cli/launch.c cli/job.c cli/serve.c
LAUNCHER_SRCS := launcher/config.c launcher/ssh.c launcher/state.c launcher/remote.c \
                 launcher/up.c launcher/down.c launcher/exec.c launcher/provider.c \
                 launcher/autoscaler.c
API_SRCS := api/value.c api/registry.c api/client.c api/objects.c api/tasks.c api/actors.c \
            api/pg.c api/renv.c api/worker.c api/driver.c api/errors.c api/events.c api/callseq.c
API_SRCS += api/push.c
API_SRCS += api/direct.c api/direct_worker.c
API_SRCS += api/direct_actor.c
CMD_SRCS := cmd/main.c
# libraries on the public API (section 13), in rayd and libray.a alike
LIBS_SRCS := libs/pool/pool.c libs/pool/pool_actor.c libs/pool/pool_codec.c \
             libs/workflow/workflow.c libs/workflow/workflow_store.c \
             libs/collective/collective.c libs/collective/collective_store.c libs/collective/collective_reduce.c \
             libs/tune/tune.c libs/tune/tune_actors.c libs/tune/tune_space.c \
             libs/serve/serve.c libs/serve/serve_codec.c libs/serve/serve_config.c \
             libs/serve/serve_proxy.c libs/serve/serve_controller.c libs/serve/serve_http.c

# libray.a: what a standalone driver links (client API + the common code it
# calls). Its files never abort on out-of-memory (common/mem.h): xmalloc.c,
# and the daemon-side GCS files that use it, stay out (test_build checks).
LIBRAY_COMMON_SRCS := common/log.c common/ids.c common/sha256.c common/proto.c common/netutil.c \
                      common/buf.c common/mem.c common/token.c common/runtime_env.c
LIBRAY_COMMON_SRCS += common/direct_wire.c common/idmap.c
LIBRAY_COMMON_SRCS += common/populate.c
LIBRAY_COMMON_SRCS += common/bigcopy.c
LIBRAY_SRCS := $(API_SRCS) $(LIBS_SRCS) $(LIBRAY_COMMON_SRCS) gcs/gcs_sync.c gcs/gcs_keys.c sched/resparse.c
RAYD_SRCS := $(CMD_SRCS) $(DAEMON_SRCS) $(SESSION_SRCS) $(OBJMGR_SRCS) $(RAYD_COMMON_SRCS) $(STATE_SRCS) $(CLI_SRCS) $(LAUNCHER_SRCS) $(GCS_SRCS) $(OBJSTORE_SRCS) \
             $(SCHED_SRCS) $(API_SRCS) $(LIBS_SRCS) $(COMMON_SRCS)

# the public headers: what job libraries include, and what make install copies
PUBLIC_HEADERS := $(wildcard include/ray*.h)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
# the dashboard's pages, compiled in (scripts/embed.sh)
DASH_WEB := daemon/web/index.html daemon/web/style.css daemon/web/app.js
DASH_ASSETS_OBJ := $(BUILD)/gen/dashboard_assets.o
RAYD_OBJS := $(call obj,$(RAYD_SRCS)) $(DASH_ASSETS_OBJ)
LIBRAY_OBJS := $(call obj,$(LIBRAY_SRCS))

UNIT_TESTS := $(wildcard tests/unit/test_*.c)
UNIT_OBJS := $(call obj,$(UNIT_TESTS) tests/unit/runner.c)
UNIT_OBJS += $(call obj,tests/unit/fixtures.c)
# unit tests link everything but main()
TESTABLE_OBJS := $(filter-out $(BUILD)/cmd/main.o,$(RAYD_OBJS))

.PHONY: all clean test unit integration demo fuzz fuzz-list bench bench-long install deps examples testjobs bench-mpw bench-idmap
all: bin/rayd bin/ray lib/libray.a

# Rebuild everything when the flags change.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(CPPFLAGS) $(CFLAGS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(FLAGS_NOW)" ]; then echo "$(FLAGS_NOW)" > $@; fi
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/dashboard_assets.c: $(DASH_WEB) scripts/embed.sh
	$(call say,EMBED,$@)sh scripts/embed.sh $@ dashboard_html daemon/web/index.html \
	  dashboard_css daemon/web/style.css dashboard_js daemon/web/app.js
$(DASH_ASSETS_OBJ): $(BUILD)/gen/dashboard_assets.c
	$(call say,CC,$<)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/rayd: $(RAYD_OBJS)
	$(call say,LINK,$@)$(CC) $(LDFLAGS_RAYD) -o $@ $(RAYD_OBJS) $(STATIC_LIBS) $(SYS_LIBS)

# bin/ and lib/ always hold the flavour just built (release or sanitizer)
bin/rayd: $(BUILD)/rayd FORCE
	@mkdir -p bin
	$(Q)cmp -s $< $@ || { cp $< $@.tmp && mv $@.tmp $@; }
bin/ray: bin/rayd
	$(Q)ln -sf rayd $@

# libray.a is one relocatable object: our library code and the members of
# the static hiredis and libevent archives it uses (found on the compiler's
# own search path), joined by `ld -r`, with every global symbol but ray_*
# made local. So a standalone driver links only -lray (and libc's -lpthread
# -ldl -lm), and one that also uses hiredis or libevent itself, of any
# version, gets its own copy without a clash (tests/integration/test_build.sh).
LIBRAY_THIRD_PARTY := -Wl,-Bstatic -lhiredis -levent_extra -levent_core -levent_pthreads -lyaml -Wl,-Bdynamic
$(BUILD)/libray.a: $(LIBRAY_OBJS)
	$(call say,AR,$@)rm -f $@ $(BUILD)/libray-all.o $(BUILD)/libray.o && \
	  $(CC) -r -nostdlib -o $(BUILD)/libray-all.o $(LIBRAY_OBJS) $(LIBRAY_THIRD_PARTY) && \
	  objcopy --wildcard --keep-global-symbol='ray_*' $(BUILD)/libray-all.o $(BUILD)/libray.o && \
	  ar rcs $@ $(BUILD)/libray.o
lib/libray.a: $(BUILD)/libray.a FORCE
	@mkdir -p lib
	$(Q)cmp -s $< $@ || cp $< $@

$(BUILD)/test_unit: $(UNIT_OBJS) $(TESTABLE_OBJS)
	$(call say,LINK,$@)$(CC) $(LDFLAGS_RAYD) -o $@ $(UNIT_OBJS) $(TESTABLE_OBJS) \
	  -Wl,-Bstatic -lcheck $(STATIC_LIBS) $(SYS_LIBS) -lsubunit 2>/dev/null || \
	  $(CC) $(LDFLAGS_RAYD) -o $@ $(UNIT_OBJS) $(TESTABLE_OBJS) -Wl,-Bstatic -lcheck $(STATIC_LIBS) $(SYS_LIBS)

deps:
	@bash scripts/install-deps.sh

unit: deps all $(BUILD)/test_unit
	$(BUILD)/test_unit

integration: deps all examples testjobs
	@SANITIZE='$(SANITIZE)' bash tests/integration/run.sh

test: deps
	@bash scripts/check-layout.sh
	@$(MAKE) --no-print-directory all examples testjobs $(BUILD)/test_unit
	@# the fuzz targets (ASan + libFuzzer, whatever SANITIZE is) are built here,
	@# two at a time, so that test_fuzz_corpus only replays their seeds
	@$(MAKE) --no-print-directory -j2 fuzz >/dev/null
	$(BUILD)/test_unit
	@SANITIZE='$(SANITIZE)' bash tests/integration/run.sh

# --- examples: job libraries link nothing -----------------------------------
EXAMPLE_JOBS := $(patsubst examples/%.c,examples/build/%.so,$(wildcard examples/job_*.c examples/serve_*.c))
examples/build/%.so: examples/%.c $(PUBLIC_HEADERS)
	@mkdir -p $(dir $@)
	$(call say,JOB,$@)$(CC) -shared -fPIC -g -O2 -Iinclude $< -o $@
examples/build/driver_standalone: examples/driver_standalone.c lib/libray.a include/ray.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -g -O2 -Iinclude $(SANFLAGS) $< -rdynamic -Llib -lray -lpthread -ldl -lm -o $@
examples: $(EXAMPLE_JOBS) examples/build/driver_standalone

# job libraries the integration tests submit
TEST_JOBS := $(patsubst tests/integration/jobs/%.c,build/jobs/%.so,$(wildcard tests/integration/jobs/*.c))
build/jobs/%.so: tests/integration/jobs/%.c tests/integration/jobs/job_check.h $(PUBLIC_HEADERS)
	@mkdir -p $(dir $@)
	$(call say,JOB,$@)$(CC) -shared -fPIC -g -O2 -Wall -Wextra -Werror -Iinclude $< -o $@ -lpthread
# a raw-protocol client for the connection-hardening tests
build/tools/rayprobe: tests/tools/rayprobe.c common/proto.c common/buf.c common/mem.c common/xmalloc.c \
                      common/protocol.h common/proto.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -g -O1 -std=gnu11 -D_GNU_SOURCE -Iinclude -I. $(WARN) $(SANFLAGS) \
	  $(filter %.c,$^) -o $@ -lpthread
# a driver that sends requests ray_call never would (links libray's objects,
# whose internals libray.a itself keeps local)
build/tools/raw_peer: tests/tools/raw_peer.c $(LIBRAY_OBJS) api/api_internal.h include/ray.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -g -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude -I. $(WARN) $(SANFLAGS) \
	  $< $(LIBRAY_OBJS) -rdynamic $(LIBRAY_THIRD_PARTY) -lpthread -ldl -lm -o $@
# a standalone driver for the restart tests (test_head_restart, test_redis_restart)
build/tools/restart_driver: tests/tools/restart_driver.c lib/libray.a include/ray.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -g -O2 -Iinclude $(WARN) $(SANFLAGS) $< -rdynamic -Llib -lray -lpthread -ldl -lm -o $@
testjobs: $(TEST_JOBS) build/tools/rayprobe build/tools/raw_peer build/tools/restart_driver
# a driver that fails each of its allocations in turn (common/mem.h): libray
# never aborts (test_build); it links libray's objects to reach the hook
build/tools/nomem_driver: tests/tools/nomem_driver.c $(LIBRAY_OBJS) common/mem.h include/ray.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -g -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude -I. $(WARN) $(SANFLAGS) \
	  $< $(LIBRAY_OBJS) -rdynamic $(LIBRAY_THIRD_PARTY) -lpthread -ldl -lm -o $@
testjobs: build/tools/nomem_driver

demo: deps
	@$(MAKE) --no-print-directory all examples
	@bash scripts/demo.sh

# --- fuzzing (clang + libFuzzer) --------------------------------------------
# every target adds itself to FUZZ_TARGETS (a line each, so that they merge)
FUZZ_TARGETS := build/fuzz/fuzz_proto build/fuzz/fuzz_value build/fuzz/fuzz_launcher_config
FUZZ_TARGETS += build/fuzz/fuzz_workflow
FUZZ_TARGETS += build/fuzz/fuzz_node
FUZZ_TARGETS += build/fuzz/fuzz_http
# the stateful target: an in-process head node (every daemon source but main)
FUZZ_NODE_SRCS := $(filter-out $(CMD_SRCS),$(RAYD_SRCS))
# compiled one object per source (make -j builds them side by side: the
# whole daemon in one clang call took 1m44 on the 2-core VM), then linked
FUZZ_NODE_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -pthread -Iinclude -I. -fsanitize=fuzzer-no-link,address,undefined
FUZZ_NODE_OBJS := $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_NODE_SRCS) $(BUILD)/gen/dashboard_assets.c)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$<)clang $(FUZZ_NODE_CFLAGS) -MMD -MP -c $< -o $@
build/fuzz/fuzz_node: tests/fuzz/fuzz_node.c $(FUZZ_NODE_OBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_NODE_CFLAGS) -fsanitize=fuzzer \
	  $^ -o $@ -lhiredis -levent_extra -levent_openssl -levent_core -levent_pthreads -lyaml -lssl -lcrypto -ldl -lm -lrt
build/fuzz/fuzz_http: tests/fuzz/fuzz_http.c common/http.c common/json.c common/netutil.c common/buf.c common/mem.c common/xmalloc.c common/log.c common/ids.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@ -lpthread -levent_core
FUZZ_TARGETS += build/fuzz/fuzz_serve_http build/fuzz/fuzz_serve_config
SERVE_FUZZ_SRCS := libs/serve/serve_codec.c libs/serve/serve_config.c api/value.c api/errors.c \
                   common/proto.c common/buf.c common/mem.c common/xmalloc.c common/bigcopy.c
build/fuzz/fuzz_serve_http: tests/fuzz/fuzz_serve_http.c libs/serve/serve_http.c $(SERVE_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@ -levent -lyaml -lpthread -lm
build/fuzz/fuzz_serve_config: tests/fuzz/fuzz_serve_config.c $(SERVE_FUZZ_SRCS)
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@ -lyaml -lpthread -lm
FUZZ_TARGETS += build/fuzz/fuzz_runtime_env build/fuzz/fuzz_pg_spec
build/fuzz/fuzz_launcher_config: tests/fuzz/fuzz_launcher_config.c launcher/config.c common/buf.c common/mem.c common/xmalloc.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@ -lyaml -lm
build/fuzz/fuzz_proto: tests/fuzz/fuzz_proto.c common/proto.c common/buf.c common/mem.c common/xmalloc.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@ -lpthread
build/fuzz/fuzz_value: tests/fuzz/fuzz_value.c api/value.c api/errors.c common/proto.c common/buf.c common/mem.c common/xmalloc.c \
                       common/bigcopy.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@ -lpthread
build/fuzz/fuzz_workflow: tests/fuzz/fuzz_workflow.c libs/workflow/workflow_store.c libs/pool/pool_codec.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@
build/fuzz/fuzz_pg_spec: tests/fuzz/fuzz_pg_spec.c sched/pg_spec.c sched/pg_policy.c sched/resources.c \
                        sched/resparse.c common/proto.c common/buf.c common/mem.c common/xmalloc.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@ -lpthread
build/fuzz/fuzz_runtime_env: tests/fuzz/fuzz_runtime_env.c common/runtime_env.c common/sha256.c common/ids.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@

FUZZ_TARGETS += build/fuzz/fuzz_joblib
build/fuzz/fuzz_joblib: tests/fuzz/fuzz_joblib.c common/joblib.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@
FUZZ_TARGETS += build/fuzz/fuzz_metrics_report
build/fuzz/fuzz_metrics_report: tests/fuzz/fuzz_metrics_report.c daemon/metrics_report.c common/buf.c common/mem.c common/xmalloc.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@

FUZZ_TARGETS += build/fuzz/fuzz_direct
build/fuzz/fuzz_direct: tests/fuzz/fuzz_direct.c common/direct_wire.c common/proto.c common/buf.c common/mem.c common/xmalloc.c
	@mkdir -p $(dir $@)
	clang -g -O1 -D_GNU_SOURCE -Iinclude -I. -fsanitize=fuzzer,address,undefined $^ -o $@ -lpthread

# (after every FUZZ_TARGETS += line: a rule's prerequisites are read at once)
fuzz: $(FUZZ_TARGETS)
# the targets' names, for tests/integration/test_fuzz_corpus.sh
fuzz-list:
	@echo $(FUZZ_TARGETS)

bench: deps all examples
	@bash bench/run.sh

# the msgpack-c decision: msgpack-c's packer against our mpw_* writer on
# the frames rayd writes most (docs/protocol.md "Writer"; needs libmsgpack-dev)
build/bench/bench_mpw: bench/bench_mpw.c common/proto.c common/buf.c common/mem.c common/proto.h common/buf.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -std=gnu11 -O2 -g -D_GNU_SOURCE -Iinclude -I. $(WARN) $(filter %.c,$^) -o $@ -lpthread
bench-mpw: build/bench/bench_mpw
	build/bench/bench_mpw 300000 15
# one hash table for the tree: common/idmap against the store's and the
# client's former tables (docs/architecture.md "One hash table, one list header")
build/bench/bench_idmap: bench/bench_idmap.c common/idmap.c common/ids.c common/mem.c common/idmap.h
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) -std=gnu11 -O2 -g -D_GNU_SOURCE -Iinclude -I. $(WARN) $(filter %.c,$^) -o $@
bench-idmap: build/bench/bench_idmap
	build/bench/bench_idmap 200000 9

# ten minutes of tasks on one cluster: does the rate hold, does Redis grow?
bench-long: deps all examples
	@BENCH_LONG=1 BENCH_ONLY=$${BENCH_ONLY:-none} bash bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 0755 bin/rayd $(DESTDIR)$(PREFIX)/bin/rayd
	ln -sf rayd $(DESTDIR)$(PREFIX)/bin/ray
	install -m 0644 lib/libray.a $(DESTDIR)$(PREFIX)/lib/libray.a
	install -m 0644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' ray.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ray.pc

clean:
	rm -rf build bin lib examples/build

-include $(shell find build -name '*.d' 2>/dev/null)
