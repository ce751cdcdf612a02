/* spec-int.h - shared between the files of src/spec only. */
#ifndef DYNAMO_SPEC_INT_H
#define DYNAMO_SPEC_INT_H

#include "lex.h"

/* Fill s's statement arrays from tokens; syntax errors go to s. */
void spec__parse_tokens(struct spec *s, const struct token *t, size_t n);
/* Check names, addresses and statements for meaning. */
void spec__check(struct spec *s);
bool spec__is_keyword(const char *w, size_t n);
bool spec__parse_ipv4(const char *str, size_t n, uint32_t *out);

#endif
