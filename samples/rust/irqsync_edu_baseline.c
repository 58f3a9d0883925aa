// SPDX-License-Identifier: GPL-2.0
/*
 * The C reference for the edu interrupt round-trip benchmark of make bench.
 *
 * It binds the QEMU edu device like rust_irqsync_edu, with one MSI vector,
 * and does what that driver's "raise" file does: raise an interrupt, wait
 * until the handler has acknowledged it and counted it under a spinlock,
 * repeat. Writing N to /sys/kernel/debug/irqsync_edu_baseline-<dev>/raise
 * runs N round trips; batch_ns then reads how long they took.
 */

#include <linux/debugfs.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <linux/spinlock.h>

#define EDU_FACTORIAL	0x08
#define EDU_IRQ_STATUS	0x24
#define EDU_IRQ_RAISE	0x60
#define EDU_IRQ_ACK	0x64
#define EDU_IRQ_FACTORIAL	0x1
#define EDU_IRQ_DMA	0x100
#define EDU_IRQ_RAISED	0x1000
#define EDU_IRQ_KNOWN	(EDU_IRQ_FACTORIAL | EDU_IRQ_DMA | EDU_IRQ_RAISED)
#define EDU_TIMEOUT_NS	(1000 * NSEC_PER_MSEC)

struct edu_baseline {
	void __iomem *regs;
	spinlock_t lock;	/* protects the counters and factorial_result */
	u64 raised;
	u64 factorials;
	u32 factorial_result;
	u64 dma_transfers;
	u64 spurious;
	u64 batch_ns;
	struct mutex operation;	/* one raise batch at a time */
	struct dentry *dir;
};

static irqreturn_t edu_baseline_irq(int irq, void *data)
{
	struct edu_baseline *edu = data;
	u32 status;

	/* The work of the Rust sample's service routine, cause for cause. */
	spin_lock(&edu->lock);
	status = ioread32(edu->regs + EDU_IRQ_STATUS);
	if (!status || status == U32_MAX) {
		spin_unlock(&edu->lock);
		return IRQ_NONE;
	}
	iowrite32(status, edu->regs + EDU_IRQ_ACK);
	if (status & EDU_IRQ_RAISED)
		edu->raised++;
	if (status & EDU_IRQ_FACTORIAL) {
		edu->factorials++;
		edu->factorial_result = ioread32(edu->regs + EDU_FACTORIAL);
	}
	if (status & EDU_IRQ_DMA)
		edu->dma_transfers++;
	if (status & ~EDU_IRQ_KNOWN)
		edu->spurious++;
	spin_unlock(&edu->lock);
	return IRQ_HANDLED;
}

static u64 edu_baseline_raised(struct edu_baseline *edu)
{
	unsigned long flags;
	u64 raised;

	spin_lock_irqsave(&edu->lock, flags);
	raised = edu->raised;
	spin_unlock_irqrestore(&edu->lock, flags);
	return raised;
}

static int edu_baseline_raise(void *data, u64 count)
{
	struct edu_baseline *edu = data;
	ktime_t start;
	int ret = 0;
	u64 i;

	mutex_lock(&edu->operation);
	start = ktime_get();
	for (i = 0; i < count && !ret; i++) {
		u64 before;
		ktime_t deadline;

		/* What the Rust sample does between round trips, so does this. */
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
		before = edu_baseline_raised(edu);
		deadline = ktime_add_ns(ktime_get(), EDU_TIMEOUT_NS);

		iowrite32(EDU_IRQ_RAISED, edu->regs + EDU_IRQ_RAISE);
		while (edu_baseline_raised(edu) == before) {
			if (ktime_after(ktime_get(), deadline)) {
				ret = -ETIMEDOUT;
				break;
			}
			cpu_relax();
		}
	}
	edu->batch_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	mutex_unlock(&edu->operation);
	return ret;
}
DEFINE_DEBUGFS_ATTRIBUTE(edu_baseline_raise_fops, NULL, edu_baseline_raise,
			 "%llu\n");

static int edu_baseline_batch_ns(void *data, u64 *value)
{
	struct edu_baseline *edu = data;

	mutex_lock(&edu->operation);
	*value = edu->batch_ns;
	mutex_unlock(&edu->operation);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(edu_baseline_batch_ns_fops, edu_baseline_batch_ns,
			 NULL, "%llu\n");

static int edu_baseline_probe(struct pci_dev *pdev,
			      const struct pci_device_id *id)
{
	struct edu_baseline *edu;
	char name[64];
	int ret;

	edu = devm_kzalloc(&pdev->dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	spin_lock_init(&edu->lock);
	mutex_init(&edu->operation);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	ret = pcim_iomap_regions(pdev, BIT(0), "irqsync_edu_baseline");
	if (ret)
		return ret;
	edu->regs = pcim_iomap_table(pdev)[0];
	iowrite32(~0U, edu->regs + EDU_IRQ_ACK);

	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI);
	if (ret < 0)
		return ret;
	ret = request_irq(pci_irq_vector(pdev, 0), edu_baseline_irq, 0,
			  "irqsync_edu_baseline", edu);
	if (ret) {
		pci_free_irq_vectors(pdev);
		return ret;
	}

	snprintf(name, sizeof(name), "irqsync_edu_baseline-%s",
		 pci_name(pdev));
	edu->dir = debugfs_create_dir(name, NULL);
	debugfs_create_file_unsafe("raise", 0200, edu->dir, edu,
				   &edu_baseline_raise_fops);
	debugfs_create_file_unsafe("batch_ns", 0444, edu->dir, edu,
				   &edu_baseline_batch_ns_fops);
	pci_set_drvdata(pdev, edu);
	return 0;
}

static void edu_baseline_remove(struct pci_dev *pdev)
{
	struct edu_baseline *edu = pci_get_drvdata(pdev);

	debugfs_remove(edu->dir);
	free_irq(pci_irq_vector(pdev, 0), edu);
	iowrite32(~0U, edu->regs + EDU_IRQ_ACK);
	pci_free_irq_vectors(pdev);
}

static const struct pci_device_id edu_baseline_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_baseline_ids);

static struct pci_driver edu_baseline_driver = {
	.name = "irqsync_edu_baseline",
	.id_table = edu_baseline_ids,
	.probe = edu_baseline_probe,
	.remove = edu_baseline_remove,
};
module_pci_driver(edu_baseline_driver);

MODULE_DESCRIPTION("C baseline of the edu interrupt round-trip benchmark");
MODULE_LICENSE("GPL");
