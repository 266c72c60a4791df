#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<target>/ (see README.md). The
device targets' seeds are in the op format of fuzz_common.h, each a
realistic driver sequence (Linux's pcnet32 open/xmit/receive, 8250 setup,
i8042/atkbd probing, PCI BAR sizing and moves, the power-off and debug-exit
writes); the parsers' seeds are valid examples from the documentation and
tests plus edge cases, in each target's input format (its header comment).
Run it from the repository root after changing a format; the files are
checked in."""
import os
import struct
import sys

IO_WRITE, IO_READ, MEM_WRITE, MEM_PUT32, EVENT, RAW_IO, PCI_CFG = range(7)
SIZE = {1: 0, 2: 1, 4: 2, 8: 3}


def out(region, off, size, val):
    return bytes([IO_WRITE, region, off, SIZE[size]]) + struct.pack('<I', val & 0xffffffff)


def inp(region, off, size):
    return bytes([IO_READ, region, off, SIZE[size]])


def mem(gpa, data):
    out_ = b''
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out_ += bytes([MEM_WRITE]) + struct.pack('<I', gpa + i) + bytes([len(chunk)]) + chunk
    return out_


def event(ev, payload=b''):
    return bytes([EVENT, ev]) + payload


def raw(write, mmio, addr, size, val=0):
    return bytes([RAW_IO, (1 if write else 0) | (2 if mmio else 0)]) + struct.pack('<I', addr) + \
        bytes([SIZE[size]]) + (struct.pack('<I', val & 0xffffffff) if write else b'')


def cfg(write, slot, reg, size, val=0):
    return bytes([PCI_CFG, 1 if write else 0, slot, reg, SIZE[size]]) + struct.pack('<I', val & 0xffffffff)


# ---- pcnet: region 0 is the I/O BAR, region 1 the config ports ----
MAC = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
IB, RXR, TXR, RXBUF, TXBUF = 0x1000, 0x2000, 0x3000, 0x10000, 0x20000


def wcsr(n, v, dwio=False):
    if dwio:
        return out(0, 0x14, 4, n) + out(0, 0x10, 4, v)
    return out(0, 0x12, 2, n) + out(0, 0x10, 2, v)


def rcsr(n, dwio=False):
    if dwio:
        return out(0, 0x14, 4, n) + inp(0, 0x10, 4)
    return out(0, 0x12, 2, n) + inp(0, 0x10, 2)


def wbcr(n, v, dwio=False):
    if dwio:
        return out(0, 0x14, 4, n) + out(0, 0x1c, 4, v)
    return out(0, 0x12, 2, n) + out(0, 0x16, 2, v)


def rx_frame(dst=MAC, n=64):
    f = dst + bytes([0x02, 0, 0, 0, 0, 1, 0x08, 0x00]) + bytes(i & 0xff for i in range(n - 14))
    return f


def pcnet_open(style, nring_log2=3, dwio=False):
    s = inp(0, 0x14, 2)                      # S_RESET
    if dwio:
        s += out(0, 0x10, 4, 0)              # a DWord write to RDP: DWIO
    s += rcsr(0, dwio) + rcsr(88, dwio) + rcsr(89, dwio)
    s += b''.join(inp(0, i, 1) for i in range(6))
    s += wbcr(20, style, dwio) + wbcr(2, 2, dwio)
    n = 1 << nring_log2
    if style == 0:
        # 8-byte descriptors: 24-bit address, status byte, BCNT, MCNT
        for i in range(n):
            a = RXBUF + 2048 * i
            s += mem(RXR + 8 * i, struct.pack('<HBBhH', a & 0xffff, a >> 16, 0x80, -1536, 0))
            s += mem(TXR + 8 * i, bytes(8))
        ib = struct.pack('<H', 0) + MAC + bytes(8) + struct.pack('<HBB', RXR & 0xffff, RXR >> 16,
                                                                 nring_log2 << 5)
        ib += struct.pack('<HBB', TXR & 0xffff, TXR >> 16, nring_log2 << 5)
    else:
        for i in range(n):
            a = RXBUF + 2048 * i
            if style == 3:
                s += mem(RXR + 16 * i, struct.pack('<IhHI', 0, -1536, 0x8000, a) + bytes(4))
            else:
                s += mem(RXR + 16 * i, struct.pack('<IhHI', a, -1536, 0x8000, 0) + bytes(4))
            s += mem(TXR + 16 * i, bytes(16))
        ib = struct.pack('<HBB', 0, nring_log2 << 4, nring_log2 << 4) + MAC + bytes(2) + bytes(8)
        ib += struct.pack('<II', RXR, TXR)
    s += mem(IB, ib)
    s += wcsr(1, IB & 0xffff, dwio) + wcsr(2, IB >> 16, dwio) + wcsr(4, 0x0915, dwio)
    s += wcsr(0, 0x0001, dwio) + rcsr(0, dwio) + wcsr(0, 0x0042, dwio)
    s += wcsr(0, 0x7f40, dwio)               # acknowledge (W1C) and INEA
    return s


def pcnet_xmit(style, slot, length, dwio=False, chain=1):
    s = mem(TXBUF + 2048 * slot, bytes([0xff] * 6) + MAC + b'\x08\x06' + bytes(length - 14))
    per = length // chain
    for k in range(chain):
        i = slot + k
        stat = 0x8000 | (0x0200 if k == 0 else 0) | (0x0100 if k == chain - 1 else 0)
        a = TXBUF + 2048 * slot + per * k
        bl = per if k < chain - 1 else length - per * (chain - 1)
        if style == 0:
            s += mem(TXR + 8 * i, struct.pack('<HBBhH', a & 0xffff, a >> 16, stat >> 8, -bl, 0))
        elif style == 3:
            s += mem(TXR + 16 * i, struct.pack('<IhHI', 0, -bl, stat, a) + bytes(4))
        else:
            s += mem(TXR + 16 * i, struct.pack('<IhHI', a, -bl, stat, 0) + bytes(4))
    s += wcsr(0, 0x0048, dwio)               # INEA | TDMD
    s += event(2, b'\x00')                   # the I/O thread runs the ring
    s += rcsr(0, dwio) + wcsr(0, 0x7f40, dwio)
    return s


def pcnet_receive(dwio=False, n=64, bcast=False):
    f = rx_frame(n=n)
    # event 1 puts PADR (or broadcast) over the first 6 bytes
    s = event(1, bytes([1 if bcast else 0]) + struct.pack('<H', len(f)) + f)
    s += rcsr(0, dwio) + wcsr(0, 0x7f40, dwio)
    return s


def pcnet_seeds():
    seeds = {}
    seeds['open_xmit_rx_style2'] = bytes([0x07]) + pcnet_open(2) + pcnet_xmit(2, 0, 100) + \
        pcnet_receive() + pcnet_xmit(2, 1, 60) + pcnet_receive(bcast=True)
    seeds['open_xmit_rx_style0'] = bytes([0x00]) + pcnet_open(0) + pcnet_xmit(0, 0, 64) + pcnet_receive()
    seeds['open_xmit_rx_style3_dwio'] = bytes([0x02]) + pcnet_open(3, dwio=True) + \
        pcnet_xmit(3, 0, 300, dwio=True, chain=3) + pcnet_receive(dwio=True, n=1400)
    seeds['ring_outside_ram'] = bytes([0x07]) + pcnet_open(2) + mem(IB + 20, struct.pack('<II', 0xfffff000, 0xfffffff0)) + \
        wcsr(0, 0x0001) + wcsr(0, 0x0002) + pcnet_xmit(2, 0, 100) + pcnet_receive()
    seeds['stop_reset_bar_move'] = bytes([0x01]) + pcnet_open(2) + wcsr(0, 0x0004) + \
        cfg(True, 1, 0x10, 4, 0xd000) + cfg(True, 1, 0x04, 2, 0x0005) + \
        inp(0, 0x14, 2) + wcsr(0, 0x0001) + event(3) + event(4)
    return seeds


# ---- uart16550: region 0 is COM1 ----
def uart_seeds():
    s = bytes([0x02])
    s += out(0, 3, 1, 0x80) + out(0, 0, 1, 0x01) + out(0, 1, 1, 0x00) + out(0, 3, 1, 0x03)
    s += out(0, 2, 1, 0xc7) + inp(0, 2, 1) + out(0, 4, 1, 0x1f) + inp(0, 6, 1) + out(0, 4, 1, 0x0b)
    s += out(0, 1, 1, 0x0f) + inp(0, 2, 1) + inp(0, 5, 1)
    s += b''.join(out(0, 0, 1, c) for c in b'login: ')
    s += event(0, bytes([6]) + b'root\r\n') + inp(0, 2, 1) + b''.join(inp(0, 0, 1) for _ in range(6))
    s += event(0, bytes([20]) + bytes(range(20))) + inp(0, 5, 1) + inp(0, 0, 4)
    loop = bytes([0x00]) + out(0, 4, 1, 0x10) + out(0, 0, 1, 0x55) + inp(0, 5, 1) + inp(0, 0, 1) + \
        out(0, 2, 1, 0x00) + event(0, bytes([2]) + b'ab') + out(0, 4, 1, 0x00) + out(0, 0, 2, 0x4142)
    return {'linux_8250_setup': s, 'loopback': loop}


# ---- i8042: region 0 is 0x60, region 1 is 0x64 ----
def i8042_seeds():
    s = bytes([0x00])
    s += inp(1, 0, 1) + out(1, 0, 1, 0xaa) + inp(1, 0, 1) + inp(0, 0, 1)   # self test
    s += out(1, 0, 1, 0x20) + inp(0, 0, 1) + out(1, 0, 1, 0x60) + out(0, 0, 1, 0x47)
    s += out(1, 0, 1, 0xab) + inp(0, 0, 1)                                 # kbd test
    s += out(0, 0, 1, 0xff) + inp(0, 0, 1) + inp(0, 0, 1)                  # reset, BAT
    s += out(0, 0, 1, 0xf2) + inp(0, 0, 1) + inp(0, 0, 1) + inp(0, 0, 1)   # get id
    s += out(0, 0, 1, 0xed) + out(0, 0, 1, 0x02) + inp(0, 0, 1)            # leds
    s += out(0, 0, 1, 0xf0) + out(0, 0, 1, 0x00) + inp(0, 0, 1) + inp(0, 0, 1)
    s += event(0) + b''.join(inp(0, 0, 1) for _ in range(11))
    s += out(1, 0, 1, 0xd0) + inp(0, 0, 1) + out(1, 0, 1, 0xd2) + out(0, 0, 1, 0x1c) + inp(0, 0, 1)
    reset = bytes([0x00]) + out(1, 0, 1, 0xd1) + out(0, 0, 1, 0xfe) + out(1, 0, 1, 0xfe)
    return {'atkbd_probe': s, 'reset': reset}


# ---- pci: regions 0 cfg ports, 1 dev0 I/O BAR, 2 dev0 MMIO, 3 dev1 I/O, 4 dev1 MMIO ----
def pci_seeds():
    s = bytes([0x00])
    s += raw(True, False, 0xcf8, 4, 0x80000000) + raw(False, False, 0xcf8, 4) + raw(False, False, 0xcfc, 4)
    for slot in range(4):
        s += cfg(False, slot, 0x00, 4) + cfg(False, slot, 0x08, 4) + cfg(False, slot, 0x0e, 1)
        for bar in range(6):
            r = 0x10 + 4 * bar
            s += cfg(False, slot, r, 4) + cfg(True, slot, 0x04, 2, 0) + cfg(True, slot, r, 4, 0xffffffff)
            s += cfg(False, slot, r, 4) + cfg(True, slot, r, 4, 0) + cfg(True, slot, 0x04, 2, 0x0007)
    s += cfg(False, 1, 0x34, 1) + cfg(False, 1, 0x40, 4) + cfg(True, 1, 0x43, 1, 0xff) + cfg(False, 1, 0x48, 4)
    s += out(1, 0, 4, 0x1234) + inp(2, 0x10, 4) + out(3, 0xff, 1, 1) + inp(4, 0x0c, 4)
    move = bytes([0x00]) + cfg(True, 2, 0x10, 4, 0xc000) + out(1, 0, 2, 1) + cfg(True, 1, 0x10, 4, 0xd000) + \
        inp(3, 0, 4) + cfg(True, 2, 0x10, 4, 0xcf00) + cfg(True, 2, 0x1c, 4, 0xe0000000) + \
        cfg(True, 1, 0x04, 2, 0) + inp(4, 0, 4) + cfg(True, 1, 0x04, 2, 3) + cfg(True, 1, 0x14, 4, 0xfffff000)
    return {'linux_probe_bar_sizing': s, 'bar_moves_collisions': move}


# ---- ports: region 0 debug-exit 0xF4, region 1 PM1a_CNT 0x604 ----
def ports_seeds():
    s = bytes([0x00]) + inp(1, 0, 2) + out(1, 0, 2, 0x0001) + inp(1, 0, 2) + out(1, 0, 1, 0x20) + \
        out(1, 1, 1, 0x20) + out(1, 0, 2, 0x3400) + out(1, 0, 2, 0x2001) + inp(0, 0, 1)
    d = bytes([0x00]) + out(0, 0, 1, 0x31) + out(0, 0, 4, 0xdeadbeef) + raw(True, False, 0xf6, 2, 7)
    return {'poweroff': s, 'debug_exit': d}


# ---- virtio_net: regions 0 common cfg, 1 ISR, 2 device cfg, 3 notify, 4 cfg ports ----
VQ = {0: (0x10000, 0x11000, 0x12000), 1: (0x20000, 0x21000, 0x22000)}
VRXBUF, VTXBUF = 0x30000, 0x40000


def vnet_open(features, qsize=8):
    s = out(0, 0x14, 1, 0) + out(0, 0x14, 1, 1) + out(0, 0x14, 1, 3)
    s += out(0, 0x00, 4, 0) + inp(0, 0x04, 4) + out(0, 0x00, 4, 1) + inp(0, 0x04, 4)
    s += out(0, 0x08, 4, 0) + out(0, 0x0c, 4, features & 0xffffffff)
    s += out(0, 0x08, 4, 1) + out(0, 0x0c, 4, features >> 32)
    s += out(0, 0x14, 1, 0x0b) + inp(0, 0x14, 1)
    s += b''.join(inp(2, i, 1) for i in range(6)) + inp(2, 6, 2)
    for q in (0, 1):
        d, a, u = VQ[q]
        s += out(0, 0x16, 2, q) + inp(0, 0x18, 2) + out(0, 0x18, 2, qsize)
        s += out(0, 0x20, 4, d) + out(0, 0x24, 4, 0) + out(0, 0x28, 4, a) + out(0, 0x2c, 4, 0)
        s += out(0, 0x30, 4, u) + out(0, 0x34, 4, 0) + out(0, 0x1c, 2, 1)
    s += out(0, 0x14, 1, 0x0f)
    return s


def vnet_fill_rx(n, buflen):
    d, a, u = VQ[0]
    s = b''
    for i in range(n):
        s += mem(d + 16 * i, struct.pack('<QIHH', VRXBUF + 2048 * i, buflen, 2, 0))
        s += mem(a + 4 + 2 * i, struct.pack('<H', i))
    s += mem(a, struct.pack('<HH', 0, n))
    s += out(3, 0, 2, 0)                     # notify the RX queue
    return s


def vnet_xmit(slot, length, idx, split=False):
    d, a, u = VQ[1]
    frame = bytes([0xff] * 6) + bytes([0x52, 0x54, 0, 0x12, 0x34, 0x57]) + b'\x08\x06' + bytes(length - 14)
    s = mem(VTXBUF + 2048 * slot, bytes(12) + frame)
    if split:   # header and frame in two descriptors, chained
        s += mem(d + 16 * slot, struct.pack('<QIHH', VTXBUF + 2048 * slot, 12, 1, slot + 1))
        s += mem(d + 16 * (slot + 1), struct.pack('<QIHH', VTXBUF + 2048 * slot + 12, length, 0, 0))
    else:
        s += mem(d + 16 * slot, struct.pack('<QIHH', VTXBUF + 2048 * slot, 12 + length, 0, 0))
    s += mem(a + 4 + 2 * (idx % 8), struct.pack('<H', slot)) + mem(a + 2, struct.pack('<H', idx + 1))
    s += out(3, 4, 2, 1)                     # notify the TX queue
    s += event(1, b'\x00') + inp(1, 0, 1)
    return s


def vnet_receive(n, hdr=False, dst=None):
    f = (dst or bytes([0x52, 0x54, 0, 0x12, 0x34, 0x57])) + bytes([2, 0, 0, 0, 0, 1, 8, 0]) + \
        bytes(i & 0xff for i in range(n - 14))
    return event(0, bytes([1 if hdr else 0]) + (bytes(12) if hdr else b'') + struct.pack('<H', len(f)) + f) + \
        inp(1, 0, 1)


def virtio_net_seeds():
    base = (1 << 32) | (1 << 5) | (1 << 16)          # VERSION_1, MAC, STATUS
    plain = bytes([0x07]) + vnet_open(base) + vnet_fill_rx(8, 1526) + vnet_xmit(0, 100, 0) + \
        vnet_receive(64) + vnet_xmit(2, 60, 1, split=True) + vnet_receive(1400, hdr=True)
    mrg = bytes([0x03]) + vnet_open(base | (1 << 15) | (1 << 0) | (1 << 1)) + vnet_fill_rx(8, 256) + \
        vnet_receive(1000, hdr=True) + vnet_xmit(0, 500, 0)
    evidx = bytes([0x04]) + vnet_open(base | (1 << 29)) + vnet_fill_rx(4, 1526) + vnet_receive(100) + \
        vnet_receive(100) + vnet_xmit(0, 64, 0) + vnet_xmit(1, 64, 1)
    return {'linux_open_xmit_rx': plain, 'mrg_rxbuf_csum': mrg, 'event_idx': evidx}


# ---- the parsers ----

def lines(*ls):
    return ''.join(l + '\n' for l in ls).encode()


def jsonl_seeds():
    reqs = lines('{"id":7,"method":"vm.start","params":{"name":"web1"}}',
                 '{"id":"a","method":"vm.list"}\r', '', ' \t', '{"method":"daemon.version","id":null}')
    # "1": a number that ends the line was taken for no JSON text (parse_error)
    bad = lines('[]', '1', 'null', '{"id":1.5,"method":"vm.list"}', '{"method":1}',
                '{"method":"vm.info","params":[]}', '{"method":"x"} x', '{"method":"x"', '{"m\x00":1}')
    # config: bit 4 a long line first (past its start: 8 + 7, filler '{'), chunks of <= 8
    long = bytes([0x13, 15, ord('{')]) + lines('"method":"vm.list"}', '{"id":2,"method":"vm.list"}')
    stop = bytes([0x25, 2]) + reqs
    return {'requests': bytes([0x03]) + reqs, 'bad_lines': bytes([0x00]) + bad, 'long_line': long,
            'stop': stop}


VMDEF = ('{"name":"web1","kernel":"/var/lib/vmm/netguest.elf","initrd":"/boot/initrd.img",'
         '"cmdline":"console=ttyS0","memory_mib":256,"vcpus":2,"autostart":true,"restart":"on-failure",'
         '"nics":[{"model":"pcnet","switch":"lan","mac":"52:54:00:12:34:56",'
         '"limit":{"tx":{"bits_per_s":100000000,"burst_bytes":125000},"rx":null}},'
         '{"model":"virtio-net","switch":"sw0"}]}')


def vmmd_request_seeds():
    methods = lines('{"id":1,"method":"daemon.version"}', '{"id":2,"method":"vm.list","params":{}}',
                    '{"id":3,"method":"vm.info","params":{"name":"web1"}}',
                    '{"id":4,"method":"vm.stats","params":{"name":"web1"}}',
                    '{"id":5,"method":"events.subscribe"}', '{"id":6,"method":"switch.list"}',
                    '{"id":7,"method":"switch.stats","params":{"name":"lan"}}',
                    '{"id":8,"method":"vm.create","params":' + VMDEF + '}',
                    '{"id":9,"method":"vm.start","params":{"name":"web1"}}',
                    '{"id":10,"method":"vm.stop","params":{"name":"web1","force":true,"timeout":5}}',
                    '{"id":11,"method":"vm.restart","params":{"name":"web1"}}',
                    '{"id":12,"method":"vm.set_limit","params":{"name":"web1","nic":0,'
                    '"limit":{"rx":{"pkts_per_s":1000}}}}',
                    '{"id":13,"method":"vm.delete","params":{"name":"web1"}}')
    bad = lines('{"id":"x","method":"vm.nope"}', '{"id":1,"method":"vm.info"}',
                '{"id":2,"method":"vm.info","params":{"name":7}}',
                '{"id":3,"method":"vm.list","params":{"name":"a"}}',
                '{"id":4,"method":"vm.stop","params":{"name":"a","bogus":1}}')
    return {'methods': bytes([0]) + methods, 'readonly': bytes([1]) + methods,
            'shutting_down_bad_params': bytes([2]) + bad}


def vmdef_seeds():
    return {'full': VMDEF.encode(),
            'minimal': b'{"name":"a","kernel":"/k"}',
            'limit': b'{"tx":{"bits_per_s":1000000,"pkts_per_s":100,"burst_bytes":3000,"burst_pkts":10},'
                     b'"rx":null}',
            'bad': b'{"name":".a","kernel":"k","memory_mib":4,"nics":[{"mac":"01:00:5e:00:00:01"}],"x":1}'}


def vmmd_conf_seeds():
    full = ('{"monitor":"/usr/libexec/vmm/vmm-monitor","state_dir":"/var/lib/vmmd","runtime_dir":"/run/vmmd",'
            '"socket_group":"kvm","readonly_socket":false,"stop_vms_on_exit":true,"stop_timeout_s":5,'
            '"idle_exit_s":60,"log_level":"debug","netbridge_runtime":"t-1","switches":['
            '{"name":"lan","host_port":"lan-host","vxlan":{"vni":42,"local":"198.51.100.129",'
            '"remote":["198.51.100.130","2001:db8::1"],"port":4789,"mtu":1500,"name":"vx42"}},'
            '{"name":"wan","uplink":"eth0","host_port":null},'
            '{"name":"mc","vxlan":{"vni":7,"local":"2001:db8::2","group":"ff05::7","dev":"eth1"}}]}')
    with open('etc/vmmd.json', 'rb') as f:
        default = f.read()
    return {'vmmd.json': default, 'full': full.encode(),
            'bad': b'{"switches":[{"name":"a"},{"name":"a","uplink":"e","vxlan":{"vni":1}}]}',
            # what followed the object was ignored
            'trailing_data': b'{"stop_timeout_s":7}, "log_level":"debug"}\n',
            # strings were cut short at a NUL
            'nul_in_string': b'{"monitor":"\\u0000/usr/libexec/vmm/vmm-monitor","switches":[{"name":"lan\\u0000x"}]}'}


def runrec_seeds():
    return {'running': b'{"pid":4242,"starttime":123456,"started_at_ms":1767225600123,'
                       b'"control":"/run/vmmd/vms/web1.sock"}',
            'restart_pending': b'{"pid":0,"starttime":0,"started_at_ms":0,"control":"/run/vmmd/vms/web1.sock",'
                               b'"restart_pending":true,"reason":"guest-exit-3","exit_status":3}',
            'endfile': b'{"exit_status":137,"exits":{"total":12345,"io":100},"nics":[]}'}


def monitor_config_seeds():
    json_cfg = ('{"name":"web1","kernel":"/k.elf","initrd":"/i.gz","cmdline":"console=ttyS0","memory_mib":256,'
                '"vcpus":2,"control":"/run/s","console":"file:/log,unix:/c","stats":"json",'
                '"stats_file":"/end.json"}')
    args = ['--nic', 'model=pcnet,tap=tap0,mac=52:54:00:12:34:56,opt=-combine', '--memory', '512',
            '--console', 'unix:/x', '--control-fd', '3', '--debug', '--stats', 'none']
    flags = ['--kernel', 'k', '--initrd', 'i', '--cmdline', 'a b', '--vcpus', '4', '--name', 'n',
             '--control', '/s', '--console', 'fd:5', '--stats-file', '/e', '--nic', 'model=virtio-net,fd=3']
    return {'json_then_flags': bytes([3]) + json_cfg.encode() + b'\0' + b'\0'.join(a.encode() for a in args),
            'flags': bytes([2]) + b'\0'.join(a.encode() for a in flags),
            # an unknown short option left getopt inside "-ab" for the next call
            'getopt_cluster': bytes([2]) + b'-ab',
            # the kernel by an abbreviated --kernel-fd: valid with no path
            'kernel-fd-abbrev': bytes([2]) + b'--kernel-f=0'}


def nic_config_seeds():
    return {'pcnet_tap': b'model=pcnet,tap=tap0,mac=52:54:00:12:34:56,opt=coalesce+irqfd,txirq_frames=16,'
                         b'txirq_us=100,txkick_us=50',
            'virtio_fd': b'model=virtio-net,fd=3,opt=-combine',
            # one hex digit in the last byte was taken for 05
            'mac_one_digit': b'model=pcnet,tap=tap0,mac=52:54:00:12:34:5'}


def bzimage(relocatable=True, pref=0x1000000, payload=1024):
    k = bytearray(1024 + payload)
    k[0x1f1] = 1                                  # setup_sects: the kernel at 1024
    k[0x1fe:0x200] = b'\x55\xaa'
    k[0x200:0x202] = bytes([0xeb, 0x66])          # jump: the header runs to 0x268
    k[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', k, 0x206, 0x020f)      # protocol 2.15
    k[0x211] = 0x01                               # LOADED_HIGH
    struct.pack_into('<I', k, 0x22c, 0x7fffffff)  # initrd_addr_max
    struct.pack_into('<I', k, 0x230, 0x200000)    # kernel_alignment
    k[0x234] = 1 if relocatable else 0
    struct.pack_into('<H', k, 0x236, 0x1)         # XLF_KERNEL_64
    struct.pack_into('<I', k, 0x238, 2047)        # cmdline_size
    struct.pack_into('<Q', k, 0x258, pref)
    struct.pack_into('<I', k, 0x260, 0x20000)     # init_size
    for i in range(payload):
        k[1024 + i] = (i * 7) & 0xff
    return bytes(k)


def pvh_elf(elf64=True, entry=0x100000):
    note = struct.pack('<III', 4, 4, 18) + b'Xen\0' + struct.pack('<I', entry)
    code = bytes(range(64))
    if elf64:
        ehdr = struct.pack('<16sHHIQQQIHHHHHH', b'\x7fELF\x02\x01\x01', 2, 62, 1, entry, 64, 0, 0, 64, 56, 2,
                           0, 0, 0)
        ph = struct.pack('<IIQQQQQQ', 4, 4, 0x100, 0, 0, len(note), len(note), 4) + \
            struct.pack('<IIQQQQQQ', 1, 5, 0x120, entry, entry, len(code), 0x2000, 0x1000)
    else:
        ehdr = struct.pack('<16sHHIIIIIHHHHHH', b'\x7fELF\x01\x01\x01', 2, 3, 1, entry, 52, 0, 0, 52, 32, 2,
                           0, 0, 0)
        ph = struct.pack('<IIIIIIII', 4, 0x100, 0, 0, len(note), len(note), 4, 4) + \
            struct.pack('<IIIIIIII', 1, 0x120, entry, entry, len(code), 0x2000, 5, 0x1000)
    img = bytearray(0x120 + len(code))
    img[:len(ehdr) + len(ph)] = ehdr + ph
    img[0x100:0x100 + len(note)] = note
    img[0x120:] = code
    return bytes(img)


def boot_seeds():
    initrd = bytes(range(200))
    cmdline = b'console=ttyS0 root=/dev/ram0'
    extras = struct.pack('<H', len(initrd)) + initrd + struct.pack('<H', len(cmdline)) + cmdline
    # config: bits 0-1 memory (1, 2, 5 + 12 KiB, 16 MiB), bit 2 initrd, bit 3 cmdline
    return {'bzimage_initrd_cmdline': bytes([0x0f]) + extras + bzimage(),
            'bzimage_fixed_address': bytes([0x02]) + bzimage(relocatable=False, pref=0x100000),
            'pvh64_initrd_cmdline': bytes([0x0e]) + extras + pvh_elf(),
            'pvh32': bytes([0x01]) + pvh_elf(elf64=False),
            # protected-mode code shorter than the 64-bit entry at 0x200 (an
            # entry past the code, even beyond memory, was accepted)
            'bzimage_short_code': bytes([0x03]) + bzimage(payload=256)}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/corpus'
    for target, seeds in (('pcnet', pcnet_seeds()), ('uart16550', uart_seeds()), ('i8042', i8042_seeds()),
                          ('pci', pci_seeds()), ('ports', ports_seeds()),
                          ('virtio_net', virtio_net_seeds()), ('jsonl', jsonl_seeds()),
                          ('vmmd_request', vmmd_request_seeds()), ('vmdef', vmdef_seeds()),
                          ('vmmd_conf', vmmd_conf_seeds()), ('runrec', runrec_seeds()),
                          ('monitor_config', monitor_config_seeds()), ('nic_config', nic_config_seeds()),
                          ('boot', boot_seeds())):
        os.makedirs(os.path.join(root, target), exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(root, target, name), 'wb') as f:
                f.write(data)


if __name__ == '__main__':
    main()
