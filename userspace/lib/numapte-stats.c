/*
 * numapte-stats - readers for /proc/interrupts, /proc/vmstat,
 * /proc/self/status and sysctl files. See numapte-stats.h.
 */
#include "numapte-stats.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Parses the "CPU0 CPU1 ..." header of /proc/interrupts into the CPU number
 * of each column. Offline CPUs have no column, so columns and CPU numbers
 * can differ; the header is the only reliable map.
 */
static int parse_irq_header(char *line, unsigned int **col_cpu, size_t *ncols)
{
	unsigned int *cols = NULL;
	size_t n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(line, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		unsigned int cpu;
		unsigned int *grown;

		if (sscanf(tok, "CPU%u", &cpu) != 1)
			break;
		grown = realloc(cols, (n + 1) * sizeof(*cols));
		if (!grown) {
			free(cols);
			return -1;
		}
		cols = grown;
		cols[n++] = cpu;
	}
	if (n == 0) {
		free(cols);
		errno = EINVAL;
		return -1;
	}
	*col_cpu = cols;
	*ncols = n;
	return 0;
}

/* If @line is the row labelled @name, returns the text after "name:". */
static char *irq_row_body(char *line, const char *name)
{
	size_t len = strlen(name);

	while (isspace((unsigned char)*line))
		line++;
	if (strncmp(line, name, len) != 0 || line[len] != ':')
		return NULL;
	return line + len + 1;
}

/* Fills @row from the counts in @body, one per header column. */
static int parse_irq_counts(const char *body, const unsigned int *col_cpu,
			    size_t ncols, struct nps_irq_row *row)
{
	unsigned int ncpus = 0;

	for (size_t i = 0; i < ncols; i++)
		if (col_cpu[i] + 1 > ncpus)
			ncpus = col_cpu[i] + 1;
	row->count = calloc(ncpus, sizeof(*row->count));
	if (!row->count)
		return -1;
	row->ncpus = ncpus;
	for (size_t i = 0; i < ncols; i++) {
		char *end;
		unsigned long long v = strtoull(body, &end, 10);

		if (end == body)
			break;	/* rows such as ERR: have fewer columns */
		row->count[col_cpu[i]] = v;
		body = end;
	}
	return 0;
}

int nps_irq_row_read(const char *name, struct nps_irq_row *row)
{
	FILE *f = fopen("/proc/interrupts", "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned int *col_cpu = NULL;
	size_t ncols = 0;
	int ret = -1, err = ENOENT;

	row->ncpus = 0;
	row->count = NULL;
	if (!f)
		return -1;
	if (getline(&line, &cap, f) < 0) {
		err = EINVAL;
		goto out;
	}
	if (parse_irq_header(line, &col_cpu, &ncols) < 0) {
		err = errno;
		goto out;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *body = irq_row_body(line, name);

		if (body) {
			ret = parse_irq_counts(body, col_cpu, ncols, row);
			err = errno;
			break;
		}
	}
out:
	free(col_cpu);
	free(line);
	fclose(f);
	if (ret < 0)
		errno = err;
	return ret;
}

void nps_irq_row_free(struct nps_irq_row *row)
{
	free(row->count);
	row->count = NULL;
	row->ncpus = 0;
}

/* Appends one counter to @vs, growing the array geometrically. */
static int vmstat_append(struct nps_vmstat *vs, size_t *cap, const char *name,
			 unsigned long long value)
{
	char *copy;

	if (vs->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct nps_counter *grown = realloc(vs->c, ncap * sizeof(*grown));

		if (!grown)
			return -1;
		vs->c = grown;
		*cap = ncap;
	}
	copy = strdup(name);
	if (!copy)
		return -1;
	vs->c[vs->n].name = copy;
	vs->c[vs->n].value = value;
	vs->n++;
	return 0;
}

int nps_vmstat_read(struct nps_vmstat *vs)
{
	FILE *f = fopen("/proc/vmstat", "re");
	char *line = NULL;
	size_t linecap = 0, cap = 0;
	int ret = 0;

	vs->n = 0;
	vs->c = NULL;
	if (!f)
		return -1;
	while (getline(&line, &linecap, f) >= 0) {
		char *sep = strchr(line, ' ');

		if (!sep)
			continue;
		*sep = '\0';
		if (vmstat_append(vs, &cap, line, strtoull(sep + 1, NULL, 10)) < 0) {
			int err = errno;

			nps_vmstat_free(vs);
			errno = err;
			ret = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

const unsigned long long *nps_vmstat_find(const struct nps_vmstat *vs, const char *name)
{
	for (size_t i = 0; i < vs->n; i++)
		if (strcmp(vs->c[i].name, name) == 0)
			return &vs->c[i].value;
	return NULL;
}

void nps_vmstat_free(struct nps_vmstat *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		free(vs->c[i].name);
	free(vs->c);
	vs->c = NULL;
	vs->n = 0;
}

int nps_status_kb(const char *field, long long *kb)
{
	FILE *f = fopen("/proc/self/status", "re");
	size_t len = strlen(field);
	char *line = NULL;
	size_t cap = 0;
	int ret = -1;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) >= 0) {
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			*kb = strtoll(line + len + 1, NULL, 10);
			ret = 0;
			break;
		}
	}
	free(line);
	fclose(f);
	if (ret < 0)
		errno = ENOENT;
	return ret;
}

int nps_read_line(const char *path, char *buf, size_t len)
{
	FILE *f;
	size_t n;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		if (ferror(f)) {
			int err = errno;

			fclose(f);
			errno = err;
			return -1;
		}
		buf[0] = '\0';	/* empty file */
	}
	fclose(f);
	n = strlen(buf);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}
