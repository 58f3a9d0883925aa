// SPDX-License-Identifier: GPL-2.0

#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>

int rust_helper_request_irq(unsigned int irq, irq_handler_t handler,
			    unsigned long flags, const char *name, void *dev)
{
	return request_irq(irq, handler, flags, name, dev);
}

unsigned int rust_helper_irq_create_mapping(struct irq_domain *domain,
					    irq_hw_number_t hwirq)
{
	return irq_create_mapping(domain, hwirq);
}

bool rust_helper_irqs_disabled(void)
{
	return irqs_disabled();
}

bool rust_helper_in_task(void)
{
	return in_task();
}

bool rust_helper_cpu_online(unsigned int cpu)
{
	return cpu_online(cpu);
}

const struct cpumask *rust_helper_cpumask_of(unsigned int cpu)
{
	return cpumask_of(cpu);
}

int rust_helper_irq_set_affinity_and_hint(unsigned int irq,
					  const struct cpumask *m)
{
	return irq_set_affinity_and_hint(irq, m);
}

int rust_helper_irq_update_affinity_hint(unsigned int irq,
					 const struct cpumask *m)
{
	return irq_update_affinity_hint(irq, m);
}

/* Whether @irq is masked at its interrupt chip, as IRQF_ONESHOT leaves it. */
bool rust_helper_irq_line_masked(unsigned int irq)
{
	struct irq_data *data = irq_get_irq_data(irq);

	return data && irqd_irq_masked(data);
}

unsigned int rust_helper_raw_smp_processor_id(void)
{
	return raw_smp_processor_id();
}

bool rust_helper_in_serving_softirq(void)
{
	return in_serving_softirq();
}

void rust_helper_irq_set_handler(unsigned int irq, irq_flow_handler_t handle)
{
	irq_set_handler(irq, handle);
}
