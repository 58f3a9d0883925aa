// SPDX-License-Identifier: GPL-2.0

#include <linux/interrupt.h>
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
