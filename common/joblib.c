/*
 * joblib.c — is an uploaded image a job library? (joblib.h) A bounded
 * reader of the ELF64 headers and dynamic symbol table: every offset and
 * count is checked against the image's length before it is read.
 */
#include "common/joblib.h"

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 1 if IMAGE (LEN bytes) defines the dynamic symbol NAME, 0 if it does not,
 * -1 if that cannot be told (no section headers, a truncated file). */
static int elf_defines(const char *image, size_t len, const Elf64_Ehdr *eh, const char *name)
{
    if (eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > len ||
        (size_t)eh->e_shnum > (len - eh->e_shoff) / sizeof(Elf64_Shdr))
        return -1;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(image + eh->e_shoff);
    int seen = -1;
    for (size_t i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset > len || sh[i].sh_size > len - sh[i].sh_offset ||
            str->sh_offset > len || str->sh_size > len - str->sh_offset)
            return -1;
        seen = 0;
        const Elf64_Sym *sym = (const Elf64_Sym *)(image + sh[i].sh_offset);
        const char *names = image + str->sh_offset;
        for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); k++)
            if (sym[k].st_shndx != SHN_UNDEF && sym[k].st_name < str->sh_size &&
                strncmp(names + sym[k].st_name, name, str->sh_size - sym[k].st_name) == 0)
                return 1;
    }
    return seen;
}

int joblib_check(const char *path, const char *image, size_t len, char *err,
                      size_t errlen)
{
    if (len < 4 || memcmp(image, "\177ELF", 4) != 0) {
        snprintf(err, errlen, "%s: not a shared library (no ELF header)", path);
        return -1;
    }
    if (len < sizeof(Elf64_Ehdr) || image[EI_CLASS] != ELFCLASS64)
        return 0;
    Elf64_Ehdr eh;
    memcpy(&eh, image, sizeof eh);
    bool program = eh.e_type == ET_EXEC;
    if (eh.e_type == ET_DYN && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phoff <= len &&
        (size_t)eh.e_phnum <= (len - eh.e_phoff) / sizeof(Elf64_Phdr)) {
        for (size_t i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            memcpy(&ph, image + eh.e_phoff + i * sizeof ph, sizeof ph);
            if (ph.p_type == PT_INTERP)
                program = true; /* a position-independent executable */
        }
    }
    if (program) {
        snprintf(err, errlen, "%s: a program, not a job library (build one with cc -shared "
                              "-fPIC)", path);
        return -1;
    }
    if (eh.e_type != ET_DYN) {
        snprintf(err, errlen, "%s: not a shared library", path);
        return -1;
    }
    if ((uintptr_t)image % 8 == 0 && elf_defines(image, len, &eh, "ray_main") == 0) {
        snprintf(err, errlen, "%s: not a job library (no ray_main)", path);
        return -1;
    }
    return 0;
}

