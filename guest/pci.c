/* pci.c: PCI Local Bus Specification 3.0, 3.2.2.3.2 configuration
 * mechanism #1 (CONFIG_ADDRESS at 0xcf8, CONFIG_DATA at 0xcfc); type 0
 * header fields from 6.1. Where no host bridge answers (QEMU microvm), reads
 * return all ones and the bus scans as empty. */
#include "netguest.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_ENABLE 0x80000000u
#define PCI_ID 0x00
#define PCI_CLASS_REV 0x08
#define PCI_HEADER_DWORD 0x0c /* header type in bits 23:16 */
#define PCI_HEADER_MULTIFUNCTION 0x80

uint32_t pci_cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
	return inl(PCI_CONFIG_DATA);
}

static bool pci_present(uint32_t id)
{
	return (id & 0xffff) != 0xffff;
}

static void pci_probe_function(unsigned dev, unsigned fn, uint32_t id, struct pci_scan *out)
{
	uint32_t class_rev = pci_cfg_read32(0, dev, fn, PCI_CLASS_REV);
	uint32_t again = pci_cfg_read32(0, dev, fn, PCI_ID);
	bool ok = (id & 0xffff) != 0 && again == id && class_rev != 0xffffffffu;

	out->functions++;
	if (!ok)
		out->bad++;
	kprintf("netguest: pci 00:%02x.%x vendor=0x%04x device=0x%04x class=0x%06x%s\n", dev, fn,
		id & 0xffff, id >> 16, class_rev >> 8, ok ? "" : " inconsistent=1");
}

void pci_scan_bus0(struct pci_scan *out)
{
	*out = (struct pci_scan){ 0 };
	for (unsigned dev = 0; dev < 32; dev++) {
		uint32_t id = pci_cfg_read32(0, dev, 0, PCI_ID);
		unsigned nfn;

		if (!pci_present(id))
			continue;
		nfn = (pci_cfg_read32(0, dev, 0, PCI_HEADER_DWORD) >> 16) & PCI_HEADER_MULTIFUNCTION ? 8 : 1;
		pci_probe_function(dev, 0, id, out);
		for (unsigned fn = 1; fn < nfn; fn++) {
			id = pci_cfg_read32(0, dev, fn, PCI_ID);
			if (pci_present(id))
				pci_probe_function(dev, fn, id, out);
		}
	}
}

void pci_cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
	outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
	outl(PCI_CONFIG_DATA, v);
}

/* 16 bits at an even offset: the byte lanes of CONFIG_DATA select them,
 * as Linux writes MSI-X Message Control (a dword write would also hit the
 * read-only capability header). */
void pci_cfg_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v)
{
	outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
	outw((uint16_t)(PCI_CONFIG_DATA + (off & 2)), v);
}

bool pci_find(uint16_t vendor, uint16_t device, unsigned *dev)
{
	for (unsigned d = 0; d < 32; d++) {
		if (pci_cfg_read32(0, d, 0, PCI_ID) == ((uint32_t)device << 16 | vendor)) {
			*dev = d;
			return true;
		}
	}
	return false;
}
