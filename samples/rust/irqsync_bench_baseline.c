// SPDX-License-Identifier: GPL-2.0
/*
 * C baseline of the InterruptSync benchmark: the operations of
 * rust_irqsync_bench, written the way a C driver writes them.
 *
 *  - lock_roundtrip: a spin_lock_irqsave() + spin_unlock_irqrestore() pair
 *    around nothing;
 *  - isr_dispatch: a request_irq() handler that counts the interrupt under the
 *    lock;
 *  - dispatch_{normal,all}_N: a request_irq() handler that calls a chain of N
 *    routines through function pointers under the lock, stopping at the first
 *    that handles the interrupt (normal) or calling them all (all). Every
 *    routine counts its call; only the last handles the interrupt, so that
 *    both modes call all N.
 *
 * Interrupts are invoked through generic_handle_irq_safe() on an irq_sim line.
 * Each operation is timed over ITERATIONS operations (LOCK_ITERATIONS for the
 * lock), ROUNDS times; the fastest round is printed in hundredths of a
 * nanosecond per operation. Under QEMU's -icount shift=0 a nanosecond is one
 * guest instruction. A lock round is short (0.3 ms against a 4 ms tick) so
 * that the fastest has no timer interrupt in it, and repeats exactly.
 */

#include <linux/err.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irq_sim.h>
#include <linux/irqdomain.h>
#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>

#define ITERATIONS 100000
#define LOCK_ITERATIONS 10000
#define ROUNDS 3
#define MAX_ROUTINES 16

struct bench_state {
	spinlock_t lock;
	u64 calls;
};

typedef irqreturn_t (*bench_routine_t)(struct bench_state *state);

struct bench_chain {
	struct bench_state *state;
	unsigned int count;
	bench_routine_t routines[MAX_ROUTINES];
};

static struct bench_state state = {
	.lock = __SPIN_LOCK_UNLOCKED(state.lock),
};

static irqreturn_t count_interrupt(int irq, void *data)
{
	struct bench_state *s = data;

	spin_lock(&s->lock);
	s->calls++;
	spin_unlock(&s->lock);

	return IRQ_HANDLED;
}

static irqreturn_t routine_passes(struct bench_state *s)
{
	s->calls++;
	return IRQ_NONE;
}

static irqreturn_t routine_handles(struct bench_state *s)
{
	s->calls++;
	return IRQ_HANDLED;
}

static irqreturn_t chain_normal(int irq, void *data)
{
	struct bench_chain *chain = data;
	irqreturn_t ret = IRQ_NONE;
	unsigned int i;

	spin_lock(&chain->state->lock);
	for (i = 0; i < chain->count; i++) {
		if (chain->routines[i](chain->state) == IRQ_HANDLED) {
			ret = IRQ_HANDLED;
			break;
		}
	}
	spin_unlock(&chain->state->lock);

	return ret;
}

static irqreturn_t chain_all(int irq, void *data)
{
	struct bench_chain *chain = data;
	irqreturn_t ret = IRQ_NONE;
	unsigned int i;

	spin_lock(&chain->state->lock);
	for (i = 0; i < chain->count; i++)
		ret |= chain->routines[i](chain->state);
	spin_unlock(&chain->state->lock);

	return ret;
}

static u64 best_centi_ns(u64 best, u64 start, unsigned int iterations)
{
	u64 centi_ns = (ktime_get_ns() - start) * 100 / iterations;

	return min(best, centi_ns);
}

static void print_result(const char *name, u64 centi_ns)
{
	pr_info("irqsync-bench: c %s %llu.%02llu ns\n", name, centi_ns / 100,
		centi_ns % 100);
}

/* Times ITERATIONS interrupts on @irq with @handler requested, ROUNDS times. */
static int time_handler(unsigned int irq, irq_handler_t handler, void *data,
			const char *name)
{
	u64 best = U64_MAX, calls_before = state.calls;
	int round, i, ret;

	ret = request_irq(irq, handler, 0, "irqsync_bench_baseline", data);
	if (ret)
		return ret;
	for (round = 0; round < ROUNDS; round++) {
		u64 start = ktime_get_ns();

		/* Checked, as the Rust sample checks what SimLine::handle() returns. */
		for (i = 0; i < ITERATIONS; i++) {
			ret = generic_handle_irq_safe(irq);
			if (ret)
				goto not_dispatched;
		}
		best = best_centi_ns(best, start, ITERATIONS);
	}
	free_irq(irq, data);

	if (state.calls == calls_before) {
		pr_err("irqsync-bench: c %s called no routine, expected some\n",
		       name);
		return -EIO;
	}
	print_result(name, best);
	return 0;

not_dispatched:
	free_irq(irq, data);
	pr_err("irqsync-bench: c %s: interrupt %u could not be dispatched: %d\n",
	       name, irq, ret);
	return ret;
}

static int time_chain(unsigned int irq, bool all, unsigned int count)
{
	struct bench_chain chain = { .state = &state, .count = count };
	u64 calls_before = state.calls, expected;
	char name[32];
	unsigned int i;
	int ret;

	for (i = 0; i < count; i++)
		chain.routines[i] = i + 1 < count ? routine_passes : routine_handles;
	snprintf(name, sizeof(name), "dispatch_%s_%u", all ? "all" : "normal",
		 count);

	ret = time_handler(irq, all ? chain_all : chain_normal, &chain, name);
	if (ret)
		return ret;

	expected = (u64)count * ROUNDS * ITERATIONS;
	if (state.calls - calls_before != expected) {
		pr_err("irqsync-bench: c %s made %llu calls, expected %llu\n",
		       name, state.calls - calls_before, expected);
		return -EIO;
	}
	return 0;
}

static int time_lock(void)
{
	u64 best = U64_MAX;
	unsigned long flags;
	int round, i;

	for (round = 0; round < ROUNDS; round++) {
		u64 start = ktime_get_ns();

		for (i = 0; i < LOCK_ITERATIONS; i++) {
			spin_lock_irqsave(&state.lock, flags);
			spin_unlock_irqrestore(&state.lock, flags);
		}
		best = best_centi_ns(best, start, LOCK_ITERATIONS);
	}
	print_result("lock_roundtrip", best);
	return 0;
}

static int __init irqsync_bench_baseline_init(void)
{
	static const unsigned int counts[] = { 1, 4, 16 };
	struct irq_domain *domain;
	unsigned int irq, i;
	int ret;

	time_lock();

	domain = irq_domain_create_sim(NULL, 1);
	if (IS_ERR(domain))
		return PTR_ERR(domain);
	irq = irq_create_mapping(domain, 0);
	if (!irq) {
		ret = -ENOMEM;
		goto remove_domain;
	}

	ret = time_handler(irq, count_interrupt, &state, "isr_dispatch");
	for (i = 0; !ret && i < ARRAY_SIZE(counts); i++)
		ret = time_chain(irq, false, counts[i]);
	for (i = 0; !ret && i < ARRAY_SIZE(counts); i++)
		ret = time_chain(irq, true, counts[i]);

	irq_dispose_mapping(irq);
remove_domain:
	irq_domain_remove_sim(domain);
	return ret;
}

static void __exit irqsync_bench_baseline_exit(void)
{
}

module_init(irqsync_bench_baseline_init);
module_exit(irqsync_bench_baseline_exit);

MODULE_DESCRIPTION("C baseline of the InterruptSync benchmark");
MODULE_LICENSE("GPL");
