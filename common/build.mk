COMMON_SRCS := $(wildcard common/*.c)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(B)/obj/%.o)
COMMON_SAN_OBJS := $(COMMON_SRCS:%.c=$(B)/san/%.o)
