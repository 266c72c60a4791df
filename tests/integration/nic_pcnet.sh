#!/bin/bash
# The PCnet NIC end to end (see tests/lib/nic_e2e.sh): ping, exact tx and rx
# counts with every optimization on and off; RAP writes must not exit.
NIC_MODEL=pcnet NIC_NS=vmmnic$$ NIC_TAP=vmmtap0
NIC_OPT_CHECK='n["exits"]["rap_write"] == 0 and n["rap_coalesced"] > 0'
. tests/lib/nic_e2e.sh
