// SPDX-License-Identifier: GPL-2.0

#include <linux/pci.h>

void rust_helper_pci_set_drvdata(struct pci_dev *pdev, void *data)
{
	pci_set_drvdata(pdev, data);
}

void *rust_helper_pci_get_drvdata(struct pci_dev *pdev)
{
	return pci_get_drvdata(pdev);
}

resource_size_t rust_helper_pci_resource_len(const struct pci_dev *pdev,
					     int bar)
{
	return pci_resource_len(pdev, bar);
}

unsigned long rust_helper_pci_resource_flags(const struct pci_dev *pdev,
					     int bar)
{
	return pci_resource_flags(pdev, bar);
}

bool rust_helper_pci_dev_msi_enabled(const struct pci_dev *pdev)
{
	return pdev->msi_enabled;
}

bool rust_helper_pci_dev_msix_enabled(const struct pci_dev *pdev)
{
	return pdev->msix_enabled;
}
