/*
 * bufpool_instance.c - the process-wide pool.
 *
 * Made once, on first use, under pthread_once.  Until then a program may
 * choose its settings with bufpool_instance_configure(); otherwise the
 * defaults apply, with MEM_LIMIT taken from the BUFPOOL_MEM_LIMIT
 * environment variable when it parses (a malformed value is ignored: a
 * library cannot report it, and the compiled-in default is safe).
 */
#include "config.h"

#include "bufpool_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t instance_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t instance_lock = PTHREAD_MUTEX_INITIALIZER;
static bufpool_t *instance;
static bool instance_started;
static bool instance_configured;
static struct bufpool_config instance_cfg;

static void instance_make(void)
{
	struct bufpool_config cfg;

	pthread_mutex_lock(&instance_lock);
	instance_started = true;
	if (instance_configured) {
		cfg = instance_cfg;
	} else {
		size_t limit;
		const char *env = getenv("BUFPOOL_MEM_LIMIT");
		bufpool_config_init(&cfg);
		if (env && bufpool_parse_size(env, &limit) == 0)
			cfg.mem_limit = limit;
		/* Keep the preallocation within a small limit from the env. */
		if (pool_config_check(&cfg) < 0)
			memset(cfg.prealloc, 0, sizeof(cfg.prealloc));
	}
	instance = bufpool_new(&cfg);
	pthread_mutex_unlock(&instance_lock);
}

BUFPOOL_API bufpool_t *bufpool_instance(void)
{
	pthread_once(&instance_once, instance_make);
	if (!instance)
		errno = ENOMEM;
	return instance;
}

BUFPOOL_API int bufpool_instance_configure(const struct bufpool_config *cfg)
{
	if (pool_config_check(cfg) < 0)
		return -1;
	pthread_mutex_lock(&instance_lock);
	if (instance_started) {
		pthread_mutex_unlock(&instance_lock);
		errno = EBUSY;
		return -1;
	}
	/* A caller built against an older, shorter struct keeps our defaults
	 * for the fields it does not know. */
	bufpool_config_init(&instance_cfg);
	memcpy(&instance_cfg, cfg,
	       cfg->size < sizeof(instance_cfg) ? cfg->size : sizeof(instance_cfg));
	instance_cfg.size = sizeof(instance_cfg);
	instance_configured = true;
	pthread_mutex_unlock(&instance_lock);
	return 0;
}
