#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# The virtio-net NIC end to end (see tests/lib/nic_e2e.sh): ping, exact tx and
# rx counts with every optimization on and off; queue notifies must not exit.
NIC_MODEL=virtio-net NIC_NS=vmmnicv$$ NIC_TAP=vmmtapv0
NIC_OPT_CHECK='n["exits"]["notify"] == 0 and n["doorbells"] > 0'
. tests/lib/nic_e2e.sh
