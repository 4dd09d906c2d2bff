// SPDX-License-Identifier: GPL-2.0
/*
 * gwake-bench: the registry. Scenario files register their groups here
 * (bench_add_group(), bench.h); the driver asks which groups exist and
 * which of them the command line selects.
 */
#include <stdio.h>
#include <string.h>

#include "driver.h"

struct bench_opts bench_opts = {
	.slice_ns = 100 * 1000 * 1000,
	.reps = 5,
};

static struct bench_group groups[MAX_GROUPS];
static int ngroups;

void bench_add_group(const struct bench_group *g)
{
	if (ngroups == MAX_GROUPS)
		bench_die("too many groups");
	if (g->nv > BENCH_MAX_VARIANTS)
		bench_die("%s: too many variants", g->id);
	groups[ngroups++] = *g;
}

int bench_ngroups(void)
{
	return ngroups;
}

const struct bench_group *bench_group_at(int i)
{
	return &groups[i];
}

size_t bench_scenario_len(const struct bench_group *g)
{
	return strcspn(g->id, "/");
}

bool bench_is_scenario(const struct bench_group *g, const char *name)
{
	size_t l = bench_scenario_len(g);

	return strlen(name) == l && !strncmp(g->id, name, l);
}

bool bench_selected(const struct bench_group *g, char **filters, int nf,
		    char **scen, int ns)
{
	int i;

	if (ns) {
		for (i = 0; i < ns; i++)
			if (bench_is_scenario(g, scen[i]))
				break;
		if (i == ns)
			return false;
	}
	if (!nf)
		return true;
	for (i = 0; i < nf; i++)
		if (strstr(g->id, filters[i]))
			return true;
	return false;
}

void bench_list_scenarios(FILE *f)
{
	int i, j, n = 0;

	for (i = 0; i < ngroups; i++) {
		size_t l = bench_scenario_len(&groups[i]);

		for (j = 0; j < i; j++)
			if (bench_scenario_len(&groups[j]) == l &&
			    !strncmp(groups[j].id, groups[i].id, l))
				break;
		if (j < i)
			continue;
		fprintf(f, "%s%.*s", n++ ? ", " : "", (int)bench_scenario_len(&groups[i]),
			groups[i].id);
	}
}
