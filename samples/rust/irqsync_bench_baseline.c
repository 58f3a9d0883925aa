// SPDX-License-Identifier: GPL-2.0
/*
 * C baseline of the InterruptSync benchmark: the same two operations as
 * rust_irqsync_bench, written the way a C driver writes them.
 *
 *  - lock: a spin_lock_irqsave() + spin_unlock_irqrestore() pair around nothing;
 *  - isr: a request_irq() handler that counts the interrupt under the lock,
 *    invoked through generic_handle_irq_safe() on an irq_sim line.
 *
 * Each is timed over ITERATIONS operations, ROUNDS times; the fastest round is
 * printed in hundredths of a nanosecond per operation.
 */

#include <linux/err.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irq_sim.h>
#include <linux/irqdomain.h>
#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>

#define ITERATIONS 200000
#define ROUNDS 5

struct bench_state {
	spinlock_t lock;
	u64 interrupts;
};

static struct bench_state state = {
	.lock = __SPIN_LOCK_UNLOCKED(state.lock),
};

static irqreturn_t bench_handler(int irq, void *data)
{
	struct bench_state *s = data;

	spin_lock(&s->lock);
	s->interrupts++;
	spin_unlock(&s->lock);

	return IRQ_HANDLED;
}

static u64 best_centi_ns(u64 best, u64 start)
{
	u64 centi_ns = (ktime_get_ns() - start) * 100 / ITERATIONS;

	return min(best, centi_ns);
}

static void print_result(const char *name, u64 centi_ns)
{
	pr_info("irqsync-bench: c %s %llu.%02llu ns\n", name, centi_ns / 100,
		centi_ns % 100);
}

static int __init irqsync_bench_baseline_init(void)
{
	u64 lock_best = U64_MAX, isr_best = U64_MAX;
	struct irq_domain *domain;
	unsigned long flags;
	unsigned int irq;
	int round, i, ret;

	for (round = 0; round < ROUNDS; round++) {
		u64 start = ktime_get_ns();

		for (i = 0; i < ITERATIONS; i++) {
			spin_lock_irqsave(&state.lock, flags);
			spin_unlock_irqrestore(&state.lock, flags);
		}
		lock_best = best_centi_ns(lock_best, start);
	}

	domain = irq_domain_create_sim(NULL, 1);
	if (IS_ERR(domain))
		return PTR_ERR(domain);
	irq = irq_create_mapping(domain, 0);
	if (!irq) {
		ret = -ENOMEM;
		goto remove_domain;
	}
	ret = request_irq(irq, bench_handler, 0, "irqsync_bench_baseline", &state);
	if (ret)
		goto dispose_mapping;

	for (round = 0; round < ROUNDS; round++) {
		u64 start = ktime_get_ns();

		for (i = 0; i < ITERATIONS; i++)
			generic_handle_irq_safe(irq);
		isr_best = best_centi_ns(isr_best, start);
	}
	free_irq(irq, &state);

	if (state.interrupts != (u64)ROUNDS * ITERATIONS) {
		pr_err("irqsync-bench: c handled %llu interrupts, expected %llu\n",
		       state.interrupts, (u64)ROUNDS * ITERATIONS);
		ret = -EIO;
	} else {
		print_result("lock_roundtrip", lock_best);
		print_result("isr_dispatch", isr_best);
	}

dispose_mapping:
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
