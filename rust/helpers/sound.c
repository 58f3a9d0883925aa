// SPDX-License-Identifier: GPL-2.0

#include <linux/irq_work.h>
#include <sound/pcm.h>

void rust_helper_init_irq_work(struct irq_work *work,
			       void (*func)(struct irq_work *))
{
	init_irq_work(work, func);
}

size_t rust_helper_snd_pcm_lib_buffer_bytes(struct snd_pcm_substream *substream)
{
	return snd_pcm_lib_buffer_bytes(substream);
}

size_t rust_helper_snd_pcm_lib_period_bytes(struct snd_pcm_substream *substream)
{
	return snd_pcm_lib_period_bytes(substream);
}
