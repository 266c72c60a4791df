/* netdev.c: see netdev.h. The models, one line each. */
#include "devices/netdev.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

extern const struct netdev_model pcnet_model, vnet_model;

static const struct netdev_model *const netdev_models[] = { &pcnet_model, &vnet_model };

const struct netdev_model *netdev_model_find(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(netdev_models); i++)
		if (!strcmp(name, netdev_models[i]->name))
			return netdev_models[i];
	return NULL;
}

const char *netdev_model_names(void)
{
	static char names[128];

	if (!names[0])
		for (unsigned i = 0; i < ARRAY_SIZE(netdev_models); i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? "|" : "", netdev_models[i]->name);
	return names;
}
