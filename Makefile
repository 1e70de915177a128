# ABUR build.  `make` builds build/abur for the board in .config (the
# default board when there is none); `make test` runs the whole suite.
# BUILD=dir puts objects elsewhere (several builds can share one tree).

BUILD ?= build
DEFAULT_BOARD := qemu-x86_64
CC ?= gcc
PKG_CONFIG ?= pkg-config
DESTDIR ?=
PREFIX ?= /usr

export HAVE_LIBFDISK := $(shell $(PKG_CONFIG) --exists fdisk 2>/dev/null && echo y)
export HAVE_LIBEXT2FS := $(shell $(PKG_CONFIG) --exists ext2fs 2>/dev/null && echo y)
export HAVE_LIBNTFS3G := $(shell $(PKG_CONFIG) --exists libntfs-3g 2>/dev/null && echo y)

-include .config
BOARD := $(patsubst "%",%,$(CONFIG_BOARD))
ifeq ($(BOARD),)
BOARD := $(DEFAULT_BOARD)
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)
PKGS := libarchive libzstd blkid inih $(if $(HAVE_LIBFDISK),fdisk) $(if $(HAVE_LIBEXT2FS),ext2fs com_err) \
	$(if $(CONFIG_IMAGE_NTFS),libntfs-3g)
AUTOCONF := include/generated/autoconf.h

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers -Wshadow -Wformat=2 \
	  -fno-strict-aliasing -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -DABUR_VERSION='"$(VERSION)"' \
	  -Iinclude -Isrc -I$(BUILD)/gen -include $(AUTOCONF) $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
ifeq ($(CONFIG_LINK_STATIC_ARCHIVE),y)
# The static archives, and --gc-sections to drop what ABUR never calls:
# libarchive's by-name format table would otherwise keep every writer
# (and with xar, libxml2 and ICU).  libacl stays shared (ACL support of
# archive_read_disk/archive_write_disk).
STATIC_PKGS := libarchive libzstd inih
LDFLAGS += -Wl,--gc-sections
LDLIBS += -Wl,-Bstatic $(shell $(PKG_CONFIG) --libs-only-l $(STATIC_PKGS) 2>/dev/null) -Wl,-Bdynamic -lacl \
	$(shell $(PKG_CONFIG) --libs $(filter-out $(STATIC_PKGS),$(PKGS)) 2>/dev/null) -lpthread
else
# libacl: the os update apply sets ACLs itself (src/image/osmeta.c).
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lacl -lpthread
endif
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# obj-y: what this configuration builds (SWUpdate/Linux style).
obj-y := $(wildcard src/core/*.c) $(wildcard src/store/*.c)
obj-$(CONFIG_IMAGE) += $(filter-out src/image/pm_ntfs.c,$(wildcard src/image/*.c))
obj-$(CONFIG_IMAGE_NTFS) += src/image/pm_ntfs.c
obj-$(CONFIG_DAEMON) += $(wildcard src/watch/*.c)
obj-$(CONFIG_AGENT) += $(wildcard src/agent/*.c)
cmd-image := $(wildcard src/cmd/cmd_seal.c src/cmd/cmd_reimage.c src/cmd/cmd_probe.c)
cmd-daemon := $(wildcard src/cmd/cmd_daemon.c)
cmd-agent := $(wildcard src/cmd/cmd_agent.c src/cmd/cmd_flash.c)
cmd-off := $(if $(CONFIG_IMAGE),,$(cmd-image)) $(if $(CONFIG_DAEMON),,$(cmd-daemon)) \
	   $(if $(CONFIG_AGENT),,$(cmd-agent))
cmd-y := $(filter-out src/cmd/main.c $(cmd-off),$(wildcard src/cmd/*.c))

LIB_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(obj-y) $(cmd-y))
MAIN_OBJ := $(BUILD)/obj/cmd/main.o
# Unit tests of a feature that is off are not built (their code is not).
unit-off := $(if $(CONFIG_IMAGE),,tests/unit/test_image.c tests/unit/test_osscan.c tests/unit/test_osdiff.c) $(if $(CONFIG_DAEMON),,tests/unit/test_watch.c \
	tests/unit/test_schedule.c) $(if $(CONFIG_AGENT),,tests/unit/test_agent_decide.c)
UNIT_SRCS := $(filter-out $(unit-off),$(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all clean distclean deps test unit bench demo install menuconfig olddefconfig savedefconfig \
	initramfs flash-image rig check-format format help fuzz fuzz-build
all: $(BUILD)/abur

help:
	@echo "make                 build $(BUILD)/abur for the board in .config ($(BOARD))"
	@echo "make BOARD_defconfig load board/BOARD/defconfig (boards: $(notdir $(wildcard board/*)))"
	@echo "make menuconfig      edit .config;  make olddefconfig  update it"
	@echo "make test            install what is missing, build, run the whole suite"
	@echo "make demo            the disk-failure rig, narrated"
	@echo "make bench           benchmarks against peer tools"
	@echo "make fuzz            build the libFuzzer fuzzers, run each FUZZ_TIME seconds ($(FUZZ_TIME))"
	@echo "make install DESTDIR=dir"

# ---- configuration -------------------------------------------------------
# No .config: the default board's.  A Kconfig newer than .config: its new
# options take their defaults (olddefconfig), and make restarts with them.
.config: Kconfig
	@if [ -f $@ ]; then \
		echo "  CONF    Kconfig changed: olddefconfig"; \
		kconfig-conf --olddefconfig Kconfig >/dev/null && touch $@; \
	else \
		echo "  CONF    no .config: using board $(DEFAULT_BOARD)"; \
		kconfig-conf --defconfig=board/$(DEFAULT_BOARD)/defconfig Kconfig >/dev/null; \
	fi

%_defconfig: board/%/defconfig
	kconfig-conf --defconfig=$< Kconfig

menuconfig:
	kconfig-mconf Kconfig

olddefconfig:
	kconfig-conf --olddefconfig Kconfig

savedefconfig:
	kconfig-conf --savedefconfig=defconfig Kconfig

$(AUTOCONF): .config Kconfig
	@mkdir -p include/config include/generated
	@kconfig-conf --olddefconfig Kconfig >/dev/null # new options (same-tick Kconfig edit) take defaults
	@KCONFIG_AUTOHEADER=$@ kconfig-conf --silentoldconfig Kconfig

# ---- build ---------------------------------------------------------------
$(BUILD)/obj/%.o: src/%.c $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# abur help COMMAND prints the manual's section of it (scripts/man2help).
$(BUILD)/gen/manhelp.h: doc/abur.8 scripts/man2help
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@awk -f scripts/man2help $< >$@.tmp && mv $@.tmp $@
$(BUILD)/obj/cmd/table.o $(BUILD)/fuzz/obj/cmd/table.o: $(BUILD)/gen/manhelp.h

$(BUILD)/abur: $(LIB_OBJS) $(MAIN_OBJ) .config
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  TEST-CC $<"
	@$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS) -lcmocka \
		$(shell cat tests/unit/$*.ldflags 2>/dev/null)

unit: $(UNIT_BINS)

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

# ---- fuzzers -------------------------------------------------------------
# libFuzzer with clang (Debian: clang, libclang-rt-14-dev), one fuzzer per
# parser of outside input (tests/fuzz/fuzz_NAME.c).  The code under test is
# built again into $(FUZZ_BUILD)/obj with coverage and the sanitizers.
# `make fuzz` runs each for FUZZ_TIME seconds over a scratch copy of its
# seed corpus tests/fuzz/corpus/NAME/ (FUZZERS="a b" picks some, and
# FUZZ_MERGE=1 merges what they found back into the corpus).
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS)) -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Wno-format-nonliteral
fuzz-y := config manifest osidx restore walk $(if $(CONFIG_IMAGE),layout) $(if $(CONFIG_DAEMON),state)
FUZZ_LDLIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lacl -lpthread
FUZZ_OBJS := $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(obj-y) $(cmd-y))
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(fuzz-y))
.SECONDARY: $(FUZZ_OBJS)

# clang 14 rejects __builtin_cpu_supports("sha"): this one object is gcc's
# (its own rule: FUZZ_CC is often given on the command line).
$(FUZZ_BUILD)/obj/core/sha256.o: src/core/sha256.c $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS)) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/obj/%.o: src/%.c $(AUTOCONF)
	@mkdir -p $(dir $@)
	@echo "  FUZZ-CC $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJS)
	@echo "  FUZZ-LD $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(FUZZ_LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@tests/fuzz/run --time $(FUZZ_TIME) $(if $(FUZZ_MERGE),--merge) $(FUZZ_BUILD) $(or $(FUZZERS),$(fuzz-y))

# ---- tests ---------------------------------------------------------------
deps:
	@scripts/deps

test: deps
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 all unit
	@tests/run $(BUILD) $(BUILD)/asan

check-format:
	@clang-format --dry-run --Werror $(shell git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

format:
	clang-format -i $(shell git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

bench: deps all
	@bench/run $(BUILD)

# The disk-failure rig, narrated: seal, nightly backup, disk failure.
demo: deps all
	@qemu/rig.sh --demo --abur $(BUILD)/abur 1 2 4

# ---- install -------------------------------------------------------------
install: all
	install -D -m 0755 $(BUILD)/abur $(DESTDIR)$(PREFIX)/sbin/abur
	install -D -m 0644 board/$(BOARD)/abur.ini $(DESTDIR)/etc/abur/abur.ini
	install -D -m 0644 doc/abur.8 $(DESTDIR)$(PREFIX)/share/man/man8/abur.8
	install -D -m 0644 doc/abur.ini.5 $(DESTDIR)$(PREFIX)/share/man/man5/abur.ini.5
	install -D -m 0644 completion/abur $(DESTDIR)/usr/share/bash-completion/completions/abur
	$(if $(wildcard init/abur.service),install -D -m 0644 init/abur.service $(DESTDIR)/lib/systemd/system/abur.service)
	$(if $(wildcard init/S60abur),install -D -m 0755 init/S60abur $(DESTDIR)/etc/init.d/S60abur)

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf .config .config.old include/config include/generated

# ---- boot images: kernel, flash initramfs, flash image, rig disk ---------
# Owned by the boot/rig work (initramfs/, qemu/, scripts/kernel).  Debian's
# cloud kernel is fetched and unpacked into qemu/cache/kernel (never
# installed); images go to $(BUILD)/boot/ and are rebuilt only when their
# inputs change.  FLASH_DEFAULT=MODE and FLASH_APPEND="ARGS" pick the boot
# menu's default entry and add kernel arguments (e.g. abur.confirm=SERIAL).
BOOT_OUT := $(BUILD)/boot
RIG_BOARD := qemu-x86_64
.PHONY: kernel rig-disk rig-images

kernel:
	@scripts/kernel --board board/$(BOARD)

initramfs: $(BUILD)/abur
	@initramfs/build.sh --abur $(BUILD)/abur --board board/$(BOARD) --out $(BOOT_OUT)/initramfs.img

flash-image: $(BUILD)/abur
	@qemu/mkflash.sh --abur $(BUILD)/abur --board board/$(BOARD) --out $(BOOT_OUT)/flash.img \
		$(if $(FLASH_DEFAULT),--default $(FLASH_DEFAULT)) $(if $(FLASH_APPEND),--append "$(FLASH_APPEND)")

rig-disk: $(BUILD)/abur
	@qemu/mkrigdisk.sh --abur $(BUILD)/abur --board board/$(RIG_BOARD) --out $(BOOT_OUT)/rig-disk.img

rig-images: rig-disk
	@$(MAKE) --no-print-directory BOARD=$(RIG_BOARD) flash-image
