// SPDX-License-Identifier: GPL-2.0

#include <linux/dma-mapping.h>

void rust_helper_dma_rmb(void)
{
	dma_rmb();
}

void rust_helper_dma_wmb(void)
{
	dma_wmb();
}
