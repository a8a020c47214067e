# emberwatch top-level Makefile.
#
#   make            build emberd, emberctl, ember-sim, ember-drain into build/
#   make check      install missing packages, unit tests (plain and ASan+UBSan),
#                   integration tests against real mosquitto/socat/mbpoll/pymodbus
#   make demo       install missing packages and run the bench demo
#                   (DEMO_SECONDS=N stops it after N seconds)
#   make deps       install every package make check needs (root or sudo)
#   make asan       build everything with AddressSanitizer + UBSan into build/asan/
#   make valgrind   run the unit tests under valgrind
#   make install    install programs, profiles, boards, man pages and the unit
#   make console    rebuild the NOC web console (agent/console/dist) from its
#                   lockfile; make console-check: that it reproduces dist/

# Test builds and the installed build.  A test build compiles in the fault
# switches some integration tests use (EMBERD_FAULT, EMBER_DRAIN_FAULT; see
# -DEMBER_FAULT_INJECTION below); an installed program must not obey an
# environment variable that hangs or slows it.  make, make all and make
# install build without them into build/; the test goals build with them into
# build/test (or, with SAN=1, build/asan), so the two never share objects.
# TEST_BUILD=1 makes any goal a test build.
TEST_GOALS := check unit valgrind integration asan fuzz-regress
ifneq ($(filter $(TEST_GOALS),$(MAKECMDGOALS))$(filter 1,$(SAN)),)
TEST_BUILD ?= 1
endif
#
# Cross builds.  make CROSS=aarch64-linux-gnu- (any toolchain prefix) builds
# with $(CROSS)gcc, $(CROSS)ar, $(CROSS)nm and $(CROSS)pkg-config, unless CC,
# AR, NM or PKG_CONFIG are given, into build/aarch64-linux-gnu/ (its test
# build into build/aarch64-linux-gnu/test/), so host and cross objects never
# share a directory; make unit runs the tests through $(RUNNER), qemu user
# mode by default.  make cross-check does the whole round for arm64 (see
# below).  A plain make CC=aarch64-linux-gnu-gcc PKG_CONFIG=... (what
# dpkg-buildpackage -a arm64 runs) builds into build/ as usual.
CROSS   ?=
BUILD_ROOT := build$(if $(CROSS),/$(patsubst %-,%,$(CROSS)))
ifeq ($(TEST_BUILD),1)
B       ?= $(BUILD_ROOT)/test
endif
B       ?= $(BUILD_ROOT)
SAN     ?=
PREFIX  ?= /usr/local
DESTDIR ?=
# Where the programs look for profiles and boards, and for their configuration
# by default: compiled in, so `make install PREFIX=/usr` must rebuild what
# embeds them (see PATHS_STAMP).  The configuration stays in /etc whatever
# PREFIX is (the systemd units name it there).
DATADIR    ?= $(PREFIX)/share/emberwatch
SYSCONFDIR ?= /etc
# The example notifiers ([notify] command = ...): programs, not data, so
# under lib as Debian keeps a package's helper programs.
NOTIFYDIR  ?= $(PREFIX)/lib/emberwatch/notify

# pkg-config modules, per program: each program links only what it uses
# (emberctl needs none of libmodbus, SQLite or libgpiod).
ifneq ($(CROSS),)
ifeq ($(origin CC),default)
CC      := $(CROSS)gcc
endif
ifeq ($(origin AR),default)
AR      := $(CROSS)ar
endif
PKG_CONFIG ?= $(CROSS)pkg-config
endif
NM      ?= $(CROSS)nm
PKG_CONFIG ?= pkg-config

# One target machine per build directory: make refuses a build directory
# whose objects another compiler's target made (build/.machine records it),
# rather than link them or call them up to date.  make install and make
# clean are let through: dh_auto_install runs make install without the CC
# the build had, and installs what that build made.
TARGET_MACHINE := $(shell $(CC) -dumpmachine 2>/dev/null)
B_MACHINE      := $(shell cat $(B)/.machine 2>/dev/null)
ifneq ($(filter-out install clean,$(or $(MAKECMDGOALS),all)),)
ifneq ($(B_MACHINE),)
ifneq ($(B_MACHINE),$(TARGET_MACHINE))
$(error $(B) holds objects for $(B_MACHINE), not for $(TARGET_MACHINE) ($(CC)): \
        make clean first, or give another B=; CROSS=PREFIX builds into build/TRIPLET/)
endif
endif
endif

# Programs built for another machine run through $(RUNNER): qemu user mode,
# qemu-aarch64-static for aarch64 (Debian's qemu-user-static).  Give RUNNER=
# to run them some other way (or natively through binfmt_misc).  No -L:
# with -L /usr/aarch64-linux-gnu qemu loads ld.so from libc6-arm64-cross
# (2.36-8cross1) but libc.so.6 from libc6:arm64 (2.36-9+deb12u14), a
# mismatched pair under which every test that starts a thread hangs in a
# futex wait (test_mailbox, test_ctlsock, test_drain_haproxy); without it
# both come from libc6:arm64 and those tests pass.
TARGET_CPU := $(firstword $(subst -, ,$(TARGET_MACHINE)))
ifneq ($(TARGET_CPU),$(shell uname -m))
RUNNER  ?= qemu-$(TARGET_CPU)-static
endif
# Unit tests the runner cannot run.  Debian 12's qemu 7.2 answers
# prctl(PR_SET_CHILD_SUBREAPER) with EINVAL (QEMU_STRACE=1 shows it), and
# proc.c needs that prctl to kill a hook's whole process tree, so every
# test_proc case fails its setup; Debian 13's qemu 10.0 runs it (qemu 8 and
# 9 untried: only 7 and older skip it).  Every other test, the threaded ones
# included, runs under both.
ifneq ($(findstring qemu,$(RUNNER)),)
RUNNER_QEMU_MAJOR := $(shell $(RUNNER) --version 2>/dev/null | \
                      sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n 1)
ifneq ($(filter 1 2 3 4 5 6 7,$(RUNNER_QEMU_MAJOR)),)
UNIT_SKIP ?= test_proc
endif
endif
UNIT_SKIP    ?=
# A bound per test under a runner, so a hang fails make instead of stopping it.
UNIT_TIMEOUT ?= 300
UNIT_WRAP    := $(if $(RUNNER),timeout $(UNIT_TIMEOUT) $(RUNNER))
PKGS_EMBERD := libmodbus libmosquitto libcjson inih libsystemd sqlite3 libgpiod libmicrohttpd
PKGS_DRAIN  := libmosquitto libcjson inih libsystemd ldns libmicrohttpd
PKGS_SIM    := libmodbus libcjson inih
PKGS_CTL    := libcjson inih
# Every module, for the check below, the compiler flags and the unit tests
# (which link every program's modules).
PKGS        := $(PKGS_EMBERD) ldns
pkg_libs     = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

# demo, check and bench install their packages first and then build in a
# recursive make, so pkg-config runs after the install; these goals (and the
# ones that build nothing) do not need the modules in this make.  Any other
# goal does: a missing module stops make here, naming it, instead of a
# compiler error about a missing header.
NOPKG_GOALS := demo check bench deps deps-demo deps-check deps-bench fuzz clean format firmware \
               cross-deps cross-check deb deb-arm64 console console-check
ifneq ($(if $(MAKECMDGOALS),$(filter-out $(NOPKG_GOALS),$(MAKECMDGOALS)),all),)
# Module -> Debian package, for the message.
DEB_libmodbus    := libmodbus-dev
DEB_libmosquitto := libmosquitto-dev
DEB_libcjson     := libcjson-dev
DEB_inih         := libinih-dev
DEB_libsystemd   := libsystemd-dev
DEB_sqlite3      := libsqlite3-dev
DEB_libgpiod     := libgpiod-dev
DEB_ldns         := libldns-dev
DEB_libmicrohttpd := libmicrohttpd-dev
PKG_MISSING := $(shell command -v $(firstword $(PKG_CONFIG)) >/dev/null 2>&1 || echo NOPKGCONFIG; \
                 for m in $(PKGS); do $(PKG_CONFIG) --exists $$m 2>/dev/null || echo $$m; done)
ifneq ($(filter NOPKGCONFIG,$(PKG_MISSING)),)
$(error '$(PKG_CONFIG)' not found (Debian package pkg-config); run 'make deps' (as root or with sudo), or: apt-get install pkg-config $(foreach m,$(PKGS),$(DEB_$(m))))
endif
ifneq ($(PKG_MISSING),)
$(error missing pkg-config modules: $(PKG_MISSING); run 'make deps' (as root or with sudo), or: apt-get install $(foreach m,$(PKG_MISSING),$(DEB_$(m))))
endif
endif
PKG_CFLAGS  := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)

CC      ?= cc
AR      ?= ar
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
# Sources include their own directory's headers with "..."; agent/lib is on
# every program's path.  Unit tests and fuzz targets see every program's.
CPPFLAGS_ALL := -D_GNU_SOURCE -DEMBER_DATADIR='"$(DATADIR)"' -DEMBER_SYSCONFDIR='"$(SYSCONFDIR)"' \
                -Iagent/lib $(PKG_CFLAGS)
TEST_INC     := -Iagent/emberd -Iagent/drain -Iagent/sim -Iagent/ctl
ifeq ($(TEST_BUILD),1)
CPPFLAGS_ALL += -DEMBER_FAULT_INJECTION
endif
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ALL_CFLAGS  = $(WARN) $(CFLAGS) $(SANFLAGS) $(CPPFLAGS_ALL) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) -Wl,--as-needed $(LDFLAGS)
SYSLIBS     = -lpthread -lm

# agent/lib: the one library every program links, as a static archive so a
# program pulls in only the modules it calls.
LIB_SRC    := $(wildcard agent/lib/*.c)
LIB_OBJ_   := $(LIB_SRC:%.c=$(B)/%.o)
LIBEMBER   := $(B)/libember.a
# emberd's GPIO chip backend follows the installed libgpiod: gpio_gpiod2.c for
# 2.x (Debian 13 trixie), gpio_gpiod1.c for 1.6 (bookworm); only one is built.
GPIOD_MAJOR := $(firstword $(subst ., ,$(shell $(PKG_CONFIG) --modversion libgpiod 2>/dev/null)))
ifeq ($(shell [ "$(GPIOD_MAJOR)" -ge 2 ] 2>/dev/null && echo y),y)
GPIOD_API   := 2
else
GPIOD_API   := 1
endif
GPIOD_OTHER := $(if $(filter 2,$(GPIOD_API)),agent/emberd/gpio_gpiod1.c,agent/emberd/gpio_gpiod2.c)
# Each program's own modules; main.c is kept apart so unit tests can link the rest.
EMBERD_OBJ := $(patsubst %.c,$(B)/%.o,$(filter-out agent/emberd/main.c $(GPIOD_OTHER),\
                                                   $(wildcard agent/emberd/*.c)))
DRAIN_OBJ  := $(patsubst %.c,$(B)/%.o,$(filter-out agent/drain/main.c,$(wildcard agent/drain/*.c)))
SIM_OBJ    := $(patsubst %.c,$(B)/%.o,$(filter-out agent/sim/sim.c,$(wildcard agent/sim/*.c)))
CTL_OBJ    := $(patsubst %.c,$(B)/%.o,$(filter-out agent/ctl/emberctl.c,$(wildcard agent/ctl/*.c)))
# What unit tests and fuzz-regress link: every program's modules.
LIB_OBJ    := $(EMBERD_OBJ) $(DRAIN_OBJ) $(SIM_OBJ) $(CTL_OBJ) $(LIBEMBER)
TEST_LIBS   = $(call pkg_libs,$(PKGS)) $(SYSLIBS)

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

PROGS := $(B)/emberd $(B)/ember-sim $(B)/emberctl $(B)/ember-drain

.PHONY: all check unit integration browser asan demo deps deps-demo deps-check deps-bench valgrind clean install format bench firmware \
        fault-free check-config cross-deps cross-check
# Keep intermediate objects (unit-test and fuzz objects would be deleted otherwise).
.SECONDARY:
all: $(PROGS)

# The sensor-node firmware: host node, STM32F103 image (size budget checked).
firmware:
	$(MAKE) -C firmware

$(B)/.machine:
	@mkdir -p $(dir $@)
	@echo $(TARGET_MACHINE) > $@

$(B)/%.o: %.c | $(B)/.machine
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%.o: tests/%.c | $(B)/.machine
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(TEST_INC) -c -o $@ $<

# The compiled-in paths, as a stamp rewritten only when they change: the
# objects that embed them depend on it, so changing PREFIX, DATADIR or
# SYSCONFDIR rebuilds exactly those (make compares the stamp's time after
# running its recipe).
PATHS_STAMP := $(B)/paths.stamp
PATHS_LINE  := DATADIR=$(DATADIR) SYSCONFDIR=$(SYSCONFDIR)
PATHS_SRC   := $(shell grep -l -e EMBER_DATADIR -e EMBER_SYSCONFDIR agent/*/*.c)
.PHONY: paths-force
$(PATHS_STAMP): paths-force
	@mkdir -p $(dir $@)
	@echo '$(PATHS_LINE)' | cmp -s - $@ || echo '$(PATHS_LINE)' > $@
$(PATHS_SRC:%.c=$(B)/%.o): $(PATHS_STAMP)

$(LIBEMBER): $(LIB_OBJ_)
	@rm -f $@
	@echo "  AR      $@"
	@$(AR) rcs $@ $^

$(B)/emberd: $(B)/agent/emberd/main.o $(EMBERD_OBJ) $(LIBEMBER)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_EMBERD)) $(SYSLIBS)

$(B)/emberctl: $(B)/agent/ctl/emberctl.o $(CTL_OBJ) $(LIBEMBER)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_CTL)) $(SYSLIBS)

$(B)/ember-sim: $(B)/agent/sim/sim.o $(SIM_OBJ) $(LIBEMBER)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_SIM)) $(SYSLIBS)

$(B)/ember-drain: $(B)/agent/drain/main.o $(DRAIN_OBJ) $(LIBEMBER)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKGS_DRAIN)) $(SYSLIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) -lcmocka

# The libgpiod backend runs against a link-time fake (build hosts have no GPIO
# chip): every gpiod_* function gpio_gpiod$(GPIOD_API).o calls goes to
# $(GPIOD_FAKE).c's __wrap_gpiod_*.  A gpiod_* call missing from the list
# would reach the real library with the fake's handles, so the link fails
# instead.  The cases, tests/unit/test_gpio_chip.c, are the same for both
# backends (through fake_chip.h); only the test of the installed version is
# built: test_gpio_libgpiod (1.6) or test_gpio_libgpiod2 (2.x).
GPIOD1_WRAPPED := gpiod_chip_open_by_label gpiod_chip_close gpiod_chip_get_line \
                  gpiod_line_request gpiod_line_release gpiod_line_event_get_fd \
                  gpiod_line_event_read gpiod_line_get_value gpiod_line_set_value
GPIOD2_WRAPPED := gpiod_chip_open gpiod_chip_close gpiod_chip_get_info gpiod_chip_info_get_label \
                  gpiod_chip_info_get_num_lines \
                  gpiod_chip_info_free gpiod_chip_request_lines \
                  gpiod_line_settings_new gpiod_line_settings_free \
                  gpiod_line_settings_set_direction gpiod_line_settings_set_edge_detection \
                  gpiod_line_settings_set_bias gpiod_line_settings_set_active_low \
                  gpiod_line_settings_set_output_value gpiod_line_settings_set_event_clock \
                  gpiod_line_config_new gpiod_line_config_free gpiod_line_config_add_line_settings \
                  gpiod_request_config_new gpiod_request_config_free \
                  gpiod_request_config_set_consumer gpiod_line_request_release \
                  gpiod_line_request_get_fd gpiod_line_request_read_edge_events \
                  gpiod_line_request_get_value gpiod_line_request_set_value \
                  gpiod_edge_event_buffer_new gpiod_edge_event_buffer_free \
                  gpiod_edge_event_buffer_get_event gpiod_edge_event_get_event_type \
                  gpiod_edge_event_get_timestamp_ns
GPIOD_WRAP     := $(GPIOD$(GPIOD_API)_WRAPPED:%=-Wl,--wrap=%)
GPIOD_TEST     := $(if $(filter 2,$(GPIOD_API)),test_gpio_libgpiod2,test_gpio_libgpiod)
GPIOD_FAKE     := $(if $(filter 2,$(GPIOD_API)),fake_gpiod2,fake_gpiod)
UNIT_BIN       := $(filter-out $(B)/tests/test_gpio_chip,$(UNIT_BIN)) $(B)/tests/$(GPIOD_TEST)

$(B)/tests/$(GPIOD_TEST): $(B)/tests/unit/test_gpio_chip.o $(B)/tests/unit/fake_chip.o \
                          $(B)/tests/unit/$(GPIOD_FAKE).o $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) $(GPIOD_WRAP) -o $@ $^ $(TEST_LIBS) -lcmocka
	@if $(NM) -u $@ | grep ' gpiod_'; then \
	    echo "$@: add these to GPIOD$(GPIOD_API)_WRAPPED and fake them in $(GPIOD_FAKE).c"; \
	    rm -f $@; exit 1; fi

unit: $(UNIT_BIN)
	@set -e; for t in $(filter-out $(UNIT_SKIP:%=$(B)/tests/%),$(UNIT_BIN)); do \
	    echo "== $$t"; $(UNIT_WRAP) $$t; done
	$(if $(strip $(UNIT_SKIP)),@echo "  SKIP    $(UNIT_SKIP): $(RUNNER) cannot run it (UNIT_SKIP in the Makefile)")

# emberd -n and ember-drain -n on the example configurations, with the
# programs of this build (through $(RUNNER) when they are another machine's).
check-config: $(B)/emberd $(B)/ember-drain
	$(RUNNER) $(B)/emberd -n -c agent/examples/emberd.conf
	$(RUNNER) $(B)/ember-drain -n -c agent/examples/ember-drain.conf

# ---- cross builds -----------------------------------------------------------
#
#   make cross-deps     add the Debian architecture CROSS_ARCH (arm64) and
#                       install its cross compiler, libraries and qemu
#                       (tools/cross-deps.sh)
#   make cross-check    cross-deps, then with CROSS=$(CROSS_TRIPLET)-: build
#                       everything into build/$(CROSS_TRIPLET)/, the unit tests
#                       (test build) under qemu, and emberd -n / ember-drain -n
#                       on the example configurations under qemu
CROSS_ARCH    ?= arm64
CROSS_TRIPLET ?= aarch64-linux-gnu

cross-deps:
	@tools/cross-deps.sh $(CROSS_ARCH)

cross-check: cross-deps
	$(MAKE) CROSS=$(CROSS_TRIPLET)- all
	$(MAKE) CROSS=$(CROSS_TRIPLET)- unit
	$(MAKE) CROSS=$(CROSS_TRIPLET)- check-config

asan:
	$(MAKE) B=build/asan SAN=1 OPT=-O1 all $(UNIT_BIN:$(B)/%=build/asan/%)

# make deps: every package make check needs (tests/install-deps.sh check,
# which also runs firmware/install-deps.sh qemu).
deps: deps-check
deps-demo deps-check deps-bench:
	@tests/install-deps.sh $(@:deps-%=%)

integration: all
	EMBER_BIN=$(abspath $(B)) tests/integration/run.sh

# make browser: the console in Debian's chromium against this build's
# programs (tests/console/run.sh, which runs npm ci in agent/console first
# when playwright-core is not there).
browser: all
	EMBER_BIN=$(abspath $(B)) tests/console/run.sh

# make check: the whole suite.  Unit tests run plain and under ASan+UBSan;
# integration tests and the console's browser tests drive the sanitizer build
# of every program; the console's dist/ must be what its lockfile builds.
check: deps-check
	$(MAKE) fault-free
	$(MAKE) unit
	$(MAKE) firmware
	$(MAKE) -C firmware check
	$(MAKE) -C firmware valgrind
	$(MAKE) -C firmware qemu
	$(MAKE) valgrind
	$(MAKE) B=build/asan SAN=1 OPT=-O1 unit
	$(MAKE) B=build/asan SAN=1 OPT=-O1 fuzz-regress
	$(MAKE) B=build/asan SAN=1 OPT=-O1 integration
	$(MAKE) console-check
	$(MAKE) B=build/asan SAN=1 OPT=-O1 browser

# The installed build must not contain the fault switches.
fault-free: all
	@if grep -l -e EMBERD_FAULT -e EMBER_DRAIN_FAULT $(PROGS); then \
	    echo "fault injection compiled into an installed build ($(B))"; exit 1; fi
	@echo "  OK      no fault switch in $(PROGS)"

# Unit tests, then emberd and ember-drain through the whole integration
# suite, under valgrind memcheck (any error or definite leak fails).
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
valgrind: $(UNIT_BIN) all
	@set -e; for t in $(UNIT_BIN); do $(VALGRIND) $$t; done
	EMBER_WRAP="$(VALGRIND)" EMBER_BIN=$(abspath $(B)) tests/integration/run.sh

# make bench: latency figures on real processes (see bench/run.sh).
bench: deps-bench
	$(MAKE) all
	EMBER_BIN=$(abspath $(B)) bench/run.sh

# DEMO_SECONDS=N (environment) stops the demo after N seconds.
demo: deps-demo
	$(MAKE) all
	agent/examples/demo.sh $(abspath $(B))

# Units go to /lib/systemd/system (Debian 12; /usr/lib/systemd/system works
# as well from systemd 252 on).  The example configurations are installed
# into SYSCONFDIR/emberwatch only where no file of that name is there yet,
# without their profile_dir and board_dir lines (those point into the source
# tree): the installed programs' compiled-in DATADIR applies instead.
SYSTEMDUNITDIR ?= /lib/systemd/system
ETC_EMBER      := $(DESTDIR)$(SYSCONFDIR)/emberwatch
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
	    $(DESTDIR)$(DATADIR)/profiles $(DESTDIR)$(DATADIR)/boards \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(SYSTEMDUNITDIR) $(ETC_EMBER) \
	    $(DESTDIR)$(NOTIFYDIR)
	install -m 755 $(B)/emberd $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 $(B)/ember-drain $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 $(B)/ember-sim $(B)/emberctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 agent/profiles/*.ini $(DESTDIR)$(DATADIR)/profiles/
	install -m 644 boards/*.conf $(DESTDIR)$(DATADIR)/boards/
	install -m 644 agent/examples/emberwatch-alerts.yml $(DESTDIR)$(DATADIR)/
	install -m 755 agent/examples/notify/ember-mail agent/examples/notify/ember-webhook \
	    $(DESTDIR)$(NOTIFYDIR)/
	install -m 644 agent/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 agent/man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 agent/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	for u in emberd ember-drain; do \
	    sed -e 's|@SBINDIR@|$(PREFIX)/sbin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	        agent/systemd/$$u.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.service; done
	for c in emberd ember-drain; do \
	    [ -e $(ETC_EMBER)/$$c.conf ] || \
	    sed -e '/^profile_dir[ =]/d' -e '/^board_dir[ =]/d' agent/examples/$$c.conf \
	        > $(ETC_EMBER)/$$c.conf; done

# ---- the NOC console: agent/console/ ----------------------------------------
#
#   make console        install the console's npm packages from its lockfile
#                       and rebuild agent/console/dist/, which is committed so
#                       that the demo, make install and the Debian package
#                       need no registry
#   make console-check  rebuild from the lockfile into build/console-check/ and
#                       fail, naming the files, unless that is byte for byte
#                       the dist/ in the tree; then the console's unit tests
#                       (node's own test runner, node 18 and later)
#
# Both need node and npm (Debian's nodejs and npm) and the npm registry.
CONSOLE_DIR   := agent/console
CONSOLE_CHECK := build/console-check
NPM_CI        := npm ci --no-audit --no-fund
.PHONY: console console-check
console:
	cd $(CONSOLE_DIR) && $(NPM_CI) && node build.mjs

console-check:
	cd $(CONSOLE_DIR) && $(NPM_CI) && node build.mjs --outdir $(abspath $(CONSOLE_CHECK))
	@if ! diff -r -q $(CONSOLE_DIR)/dist $(CONSOLE_CHECK) > $(CONSOLE_CHECK).diff; then \
	    sed 's/^/  DIFFERS /' $(CONSOLE_CHECK).diff; \
	    echo "$(CONSOLE_DIR)/dist is not what its sources and lockfile build: run make console and commit it"; \
	    exit 1; fi
	@echo "  OK      $(CONSOLE_DIR)/dist reproduced from the lockfile"
	node --test $(sort $(wildcard $(CONSOLE_DIR)/test/*.test.mjs))

# make deb: the Debian package (debian/), built for this machine's
# architecture into build/deb/, then checked by lintian; make deb-arm64: the
# same cross-built for arm64 (-B: the architecture-dependent package only).
# Both install their build dependencies first (debian/install-build-deps.sh).
DEB_OUT := build/deb
.PHONY: deb deb-arm64
deb:
	@debian/install-build-deps.sh
	debian/build.sh $(DEB_OUT)
deb-arm64:
	@debian/install-build-deps.sh arm64
	debian/build.sh $(DEB_OUT) arm64

format:
	clang-format -i agent/lib/*.[ch] agent/emberd/*.[ch] agent/sim/*.[ch] agent/ctl/*.[ch] agent/drain/*.[ch] tests/unit/*.c

# --one-file-system: never into a tests/fresh chroot's proc, sys or dev
# mounts, should one be left behind (rm then fails and says so).
clean:
	rm -rf --one-file-system build
	$(MAKE) -C firmware clean

# ---- fuzzing: tests/fuzz/ ---------------------------------------------------
#
#   make fuzz           build the libFuzzer targets with clang (+ASan+UBSan) in
#                       build/fuzz/ and run each for FUZZ_SECONDS (default 60);
#                       a crash, leak or timeout is saved to tests/fuzz/regress/
#                       TARGET/ and make fails.  Installs clang first if missing.
#   make fuzz-regress   replay tests/fuzz/corpus/ and tests/fuzz/regress/ through
#                       driver.c in this build, with no libFuzzer (make check
#                       runs it in the ASan build, with the unit tests' objects)
#
# The targets' sources are the same in both builds.  The seed corpora in
# tests/fuzz/corpus/ are only read; what the fuzzer adds stays in
# build/fuzz/corpus/TARGET and seeds the next make fuzz.
FUZZ_TARGETS := conf profile cmd
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_B       := build/fuzz
# What conf_load(), profile_load() and cmd_parse() reach.
FUZZ_LIBMODS := util cfgfile profile mqttconf
FUZZ_MODS    := board alarm conf cmd
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# No -Werror: clang's warnings are not the gcc build's, and this is a test build.
FUZZ_CFLAGS   = $(filter-out -Werror,$(WARN)) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                $(CPPFLAGS_ALL) $(TEST_INC) -MMD -MP
FUZZ_OBJ     := $(FUZZ_LIBMODS:%=$(FUZZ_B)/agent/lib/%.o) $(FUZZ_MODS:%=$(FUZZ_B)/agent/emberd/%.o)
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)
FUZZ_REGRESS  = $(FUZZ_TARGETS:%=$(B)/fuzz-regress/fuzz_%)

.PHONY: fuzz fuzz-bin fuzz-regress
# Keep the targets' objects (make would delete them as intermediate files).
.SECONDARY: $(FUZZ_OBJ) $(FUZZ_TARGETS:%=$(FUZZ_B)/tests/fuzz/fuzz_%.o) \
            $(FUZZ_TARGETS:%=$(B)/tests/fuzz/fuzz_%.o) $(B)/tests/fuzz/driver.o

$(FUZZ_B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CLANG   $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/fuzz_%: $(FUZZ_B)/tests/fuzz/fuzz_%.o $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(TEST_LIBS)

fuzz-bin: $(FUZZ_BIN)

fuzz:
	@tests/install-deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-bin
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    case $$t in cmd) maxlen=8192 ;; *) maxlen=16384 ;; esac; \
	    mkdir -p $(FUZZ_B)/corpus/$$t tests/fuzz/regress/$$t; \
	    echo "== fuzz_$$t: $(FUZZ_SECONDS) s (log: $(FUZZ_B)/fuzz_$$t.log)"; \
	    if EMBER_FUZZ_TOP=$(CURDIR) $(FUZZ_B)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	        -timeout=10 -max_len=$$maxlen -dict=tests/fuzz/$$t.dict -print_final_stats=1 \
	        -artifact_prefix=tests/fuzz/regress/$$t/ \
	        $(FUZZ_B)/corpus/$$t tests/fuzz/corpus/$$t </dev/null >$(FUZZ_B)/fuzz_$$t.log 2>&1; then \
	        grep -E '^(Done|stat::(number_of_executed_units|peak_rss_mb|new_units_added))' \
	            $(FUZZ_B)/fuzz_$$t.log | tr '\n' ' '; echo; \
	    else \
	        fail=1; tail -n 60 $(FUZZ_B)/fuzz_$$t.log; \
	        echo "fuzz_$$t FAILED; reproducer in tests/fuzz/regress/$$t/"; \
	    fi; \
	done; exit $$fail

$(B)/fuzz-regress/fuzz_%: $(B)/tests/fuzz/driver.o $(B)/tests/fuzz/fuzz_%.o $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS)

# Every target runs even when one fails; a target stops at its first failing input.
fuzz-regress: $(FUZZ_REGRESS)
	@fail=0; for t in $(FUZZ_TARGETS); do \
	    echo "== fuzz-regress: $$t"; \
	    EMBER_FUZZ_TOP=$(CURDIR) $(B)/fuzz-regress/fuzz_$$t \
	        tests/fuzz/corpus/$$t tests/fuzz/regress/$$t </dev/null || fail=1; \
	done; exit $$fail

# Only the object trees: build/fresh holds tests/fresh's chroots (with their
# own *.d directories and, while a suite runs, proc, sys and dev mounted),
# and package builds and their test chroots.
-include $(shell find $(B)/agent $(B)/tests $(B)/fuzz-regress $(FUZZ_B)/agent $(FUZZ_B)/tests \
                      -name '*.d' -type f 2>/dev/null)
