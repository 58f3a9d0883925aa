// SPDX-License-Identifier: GPL-2.0
/*
 * Reads, or writes, one 32-bit register of a PCI device through its memory BAR's sysfs file,
 * behind its driver's back: the tests use it to make a device misbehave as failing hardware
 * would (a transmitter that stops). Prints the value read, or the value written, in hex.
 *
 * Usage: regpoke /sys/bus/pci/devices/BDF/resourceN OFFSET [VALUE]
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long offset, page, value = 0;
	volatile uint32_t *reg;
	char *end;
	void *map;
	int fd;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: regpoke RESOURCE OFFSET [VALUE]\n");
		return 2;
	}
	offset = strtoul(argv[2], &end, 0);
	if (*end || offset % 4) {
		fprintf(stderr, "regpoke: bad offset %s\n", argv[2]);
		return 2;
	}
	if (argc == 4) {
		value = strtoul(argv[3], &end, 0);
		if (*end || value > UINT32_MAX) {
			fprintf(stderr, "regpoke: bad value %s\n", argv[3]);
			return 2;
		}
	}
	fd = open(argv[1], O_RDWR | O_SYNC);
	if (fd < 0) {
		perror("regpoke: open");
		return 1;
	}
	page = offset & ~(unsigned long)(sysconf(_SC_PAGESIZE) - 1);
	map = mmap(NULL, offset - page + 4, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page);
	if (map == MAP_FAILED) {
		perror("regpoke: mmap");
		return 1;
	}
	reg = (volatile uint32_t *)((char *)map + (offset - page));
	if (argc == 4)
		*reg = value;
	else
		value = *reg;
	printf("0x%08lx\n", value);
	return 0;
}
