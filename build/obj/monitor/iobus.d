build/obj/monitor/iobus.o: monitor/iobus.c monitor/iobus.h devices/dev.h \
 common/util.h
monitor/iobus.h:
devices/dev.h:
common/util.h:
