# emberwatch top-level Makefile.
#
#   make            build emberd, ember-sim into build/
#   make check      install missing packages, unit tests (plain and ASan+UBSan),
#                   integration tests against real mosquitto/socat/mbpoll/pymodbus
#   make demo       install missing packages and run the bench demo
#   make asan       build everything with AddressSanitizer + UBSan into build/asan/
#   make valgrind   run the unit tests under valgrind
#   make install    install programs, profiles, boards, man pages and the unit

B       ?= build
SAN     ?=
PREFIX  ?= /usr/local
DESTDIR ?=

PKGS     := libmodbus libmosquitto libcjson inih libsystemd sqlite3 libgpiod
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CPPFLAGS_ALL := -D_GNU_SOURCE -DEMBER_DATADIR='"$(PREFIX)/share/emberwatch"' \
                -Iagent/src $(PKG_CFLAGS)
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ALL_CFLAGS  = $(WARN) $(CFLAGS) $(SANFLAGS) $(CPPFLAGS_ALL) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lpthread -lm

# Modules shared by every program.
COMMON  := util log cfgfile profile
# emberd modules (main.c is kept apart so unit tests can link the rest).
EMBERD  := conf board sensor alarm state cmd ctl payload bus_modbus mqtt loop daemon debounce gpio
SIMMODS := scenario simserver

COMMON_OBJ := $(COMMON:%=$(B)/agent/src/%.o)
EMBERD_OBJ := $(EMBERD:%=$(B)/agent/src/%.o)
SIM_OBJ    := $(SIMMODS:%=$(B)/agent/sim/%.o)
LIB_OBJ    := $(COMMON_OBJ) $(EMBERD_OBJ) $(SIM_OBJ)

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

PROGS := $(B)/emberd $(B)/ember-sim $(B)/emberctl

.PHONY: all check unit integration asan demo deps valgrind clean install format bench
all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/emberd: $(B)/agent/src/main.o $(COMMON_OBJ) $(EMBERD_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/emberctl: $(B)/agent/ctl/emberctl.o $(COMMON_OBJ) $(EMBERD_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/ember-sim: $(B)/agent/sim/sim.o $(COMMON_OBJ) $(SIM_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

# The libgpiod backend runs against a link-time fake (build hosts have no GPIO
# chip): every gpiod_* function gpio.o calls goes to fake_gpiod.c's
# __wrap_gpiod_*.  A gpiod_* call missing from this list would reach the real
# library with the fake's handles, so the link fails instead.
GPIOD_WRAPPED := gpiod_chip_open_by_label gpiod_chip_close gpiod_chip_get_line \
                 gpiod_line_request gpiod_line_release gpiod_line_event_get_fd \
                 gpiod_line_event_read gpiod_line_get_value gpiod_line_set_value
GPIOD_WRAP    := $(GPIOD_WRAPPED:%=-Wl,--wrap=%)

$(B)/tests/test_gpio_libgpiod: $(B)/tests/unit/test_gpio_libgpiod.o $(B)/tests/unit/fake_gpiod.o \
                               $(LIB_OBJ)
	$(CC) $(ALL_LDFLAGS) $(GPIOD_WRAP) -o $@ $^ $(LIBS) -lcmocka
	@if nm -u $@ | grep ' gpiod_'; then \
	    echo "$@: add these to GPIOD_WRAPPED and fake them in fake_gpiod.c"; rm -f $@; exit 1; fi

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

asan:
	$(MAKE) B=build/asan SAN=1 OPT=-O1 all $(UNIT_BIN:$(B)/%=build/asan/%)

deps:
	@tests/install-deps.sh

integration: all
	EMBER_BIN=$(abspath $(B)) tests/integration/run.sh

# make check: the whole suite.  Unit tests run plain and under ASan+UBSan;
# integration tests drive the sanitizer build of every program.
check: deps
	$(MAKE) unit
	$(MAKE) valgrind
	$(MAKE) B=build/asan SAN=1 OPT=-O1 unit
	$(MAKE) B=build/asan SAN=1 OPT=-O1 integration

valgrind: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do \
	    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite $$t; done

# make bench: latency figures on real processes (see bench/run.sh).
bench: deps all
	EMBER_BIN=$(abspath $(B)) bench/run.sh

demo: deps all
	agent/examples/demo.sh $(abspath $(B))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
	    $(DESTDIR)$(PREFIX)/share/emberwatch/profiles $(DESTDIR)$(PREFIX)/share/emberwatch/boards \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)/lib/systemd/system
	install -m 755 $(B)/emberd $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 $(B)/ember-sim $(B)/emberctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 agent/profiles/*.ini $(DESTDIR)$(PREFIX)/share/emberwatch/profiles/
	install -m 644 boards/*.conf $(DESTDIR)$(PREFIX)/share/emberwatch/boards/
	install -m 644 agent/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 agent/man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 agent/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' agent/systemd/emberd.service.in \
	    > $(DESTDIR)/lib/systemd/system/emberd.service

format:
	clang-format -i agent/src/*.[ch] agent/sim/*.[ch] agent/ctl/*.c tests/unit/*.c

clean:
	rm -rf build

-include $(shell find $(B) -name '*.d' 2>/dev/null)
