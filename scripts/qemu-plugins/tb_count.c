// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin (plugin API version 1, QEMU 7.2) that counts the guest instructions
 * executed at kernel addresses, per translation block, between the first two executions of a
 * marker address: `make profile` puts `ksys_sync` there, and the guest runs `sync` before and
 * after what it measures.
 *
 * Usage: -plugin tb_count.so,out=FILE,marker=HEXADDR
 * FILE gets one line per block that ran in the window: its address (hex), its instructions and
 * how often it ran. Debian ships QEMU without the plugin header, so the few functions used are
 * declared here, as QEMU 7.2's include/qemu/qemu-plugin.h declares them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* A translation of a block; a block translated again gets another entry. */
struct block {
	uint64_t address, instructions, runs;
	uint64_t runs_at[3];	/* runs at the first and second marker, from index 1 */
	struct block *next;
};

static struct block *blocks;
static uint64_t marker;
static int markers_seen;
static const char *out_path;

static void marker_reached(unsigned int vcpu_index, void *userdata)
{
	if (markers_seen == 2)
		return;
	markers_seen++;
	for (struct block *b = blocks; b; b = b->next)
		b->runs_at[markers_seen] = b->runs;
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t address = qemu_plugin_tb_vaddr(tb);
	struct block *b;

	if (address < 0xffff800000000000ull)
		return;
	b = calloc(1, sizeof(*b));
	if (!b)
		return;
	b->address = address;
	b->instructions = qemu_plugin_tb_n_insns(tb);
	b->next = blocks;
	blocks = b;
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->runs, 1);
	if (address == marker)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, marker_reached, QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void write_counts(qemu_plugin_id_t id, void *userdata)
{
	FILE *f = fopen(out_path, "w");

	if (!f)
		return;
	for (struct block *b = blocks; b; b = b->next) {
		uint64_t runs = b->runs_at[2] - b->runs_at[1];

		if (markers_seen == 2 && runs)
			fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", b->address,
				b->instructions, runs);
	}
	fclose(f);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			out_path = argv[i] + 4;
		else if (!strncmp(argv[i], "marker=", 7))
			marker = strtoull(argv[i] + 7, NULL, 16);
	}
	if (!out_path || !marker) {
		fprintf(stderr, "tb_count: out=FILE and marker=HEXADDR are needed\n");
		return 1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	qemu_plugin_register_atexit_cb(id, write_counts, NULL);
	return 0;
}
