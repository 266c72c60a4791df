DEVICES_SRCS := $(wildcard devices/*.c)
DEVICES_OBJS := $(DEVICES_SRCS:%.c=$(B)/obj/%.o)
DEVICES_SAN_OBJS := $(DEVICES_SRCS:%.c=$(B)/san/%.o)
