/* keys_text.c: generators for the string key sets. Words are drawn with a skew
 * toward the front of each list, so popular names, providers, hosts and path
 * sections recur and keys share long prefixes, as real e-mail and URL keys do. */
#include "keys.h"
#include "rng.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const first_names[] = {
    "james",     "mary",    "john",       "patricia",  "robert",    "jennifer",  "michael",
    "linda",     "william", "elizabeth",  "david",     "barbara",   "richard",   "susan",
    "joseph",    "jessica", "thomas",     "sarah",     "charles",   "karen",     "chris",
    "nancy",     "daniel",  "lisa",       "matthew",   "betty",     "anthony",   "margaret",
    "mark",      "sandra",  "donald",     "ashley",    "steven",    "kim",       "paul",
    "emily",     "andrew",  "donna",      "joshua",    "michelle",  "kevin",     "carol",
    "brian",     "amanda",  "george",     "melissa",   "edward",    "deborah",   "ronald",
    "stephanie", "timothy", "rebecca",    "jason",     "laura",     "jeff",      "sharon",
    "ryan",      "cynthia", "jacob",      "kathleen",  "gary",      "amy",       "nicholas",
    "shirley",   "eric",    "angela",     "jonathan",  "helen",     "stephen",   "anna",
    "larry",     "brenda",  "justin",     "pamela",    "scott",     "nicole",    "brandon",
    "emma",      "ben",     "samantha",   "samuel",    "katherine", "greg",      "christine",
    "frank",     "debra",   "alex",       "rachel",    "raymond",   "catherine", "jack",
    "carolyn",   "dennis",  "janet",      "jerry",     "ruth",      "tyler",     "maria",
    "aaron",     "heather", "jose",       "diane",     "adam",      "virginia",  "henry",
    "julie",     "nathan",  "joyce",      "doug",      "victoria",  "zach",      "olivia",
    "peter",     "kelly",   "kyle",       "christina", "walter",    "lauren",    "ethan",
    "joan",      "jeremy",  "evelyn",     "harold",    "judith",    "keith",     "megan",
    "christian", "cheryl",  "roger",      "andrea",    "noah",      "hannah",    "gerald",
    "martha",    "carl",    "jacqueline", "terry",     "frances",   "sean",      "gloria",
    "austin",    "ann",     "arthur",     "teresa",    "lawrence",  "kathryn",   "jesse",
    "sara",      "dylan",   "janice",     "bryan",     "jean",      "joe",       "alice",
    "jordan",    "madison", "billy",      "doris",     "bruce",     "abigail",
};

static const char *const last_names[] = {
    "smith",    "johnson",   "williams",   "brown",     "jones",      "garcia",    "miller",
    "davis",    "rodriguez", "martinez",   "hernandez", "lopez",      "gonzalez",  "wilson",
    "anderson", "thomas",    "taylor",     "moore",     "jackson",    "martin",    "lee",
    "perez",    "thompson",  "white",      "harris",    "sanchez",    "clark",     "ramirez",
    "lewis",    "robinson",  "walker",     "young",     "allen",      "king",      "wright",
    "scott",    "torres",    "nguyen",     "hill",      "flores",     "green",     "adams",
    "nelson",   "baker",     "hall",       "rivera",    "campbell",   "mitchell",  "carter",
    "roberts",  "gomez",     "phillips",   "evans",     "turner",     "diaz",      "parker",
    "cruz",     "edwards",   "collins",    "reyes",     "stewart",    "morris",    "morales",
    "murphy",   "cook",      "rogers",     "gutierrez", "ortiz",      "morgan",    "cooper",
    "peterson", "bailey",    "reed",       "kelly",     "howard",     "ramos",     "kim",
    "cox",      "ward",      "richardson", "watson",    "brooks",     "chavez",    "wood",
    "james",    "bennett",   "gray",       "mendoza",   "ruiz",       "hughes",    "price",
    "alvarez",  "castillo",  "sanders",    "patel",     "myers",      "long",      "ross",
    "foster",   "jimenez",   "powell",     "jenkins",   "perry",      "russell",   "sullivan",
    "bell",     "coleman",   "butler",     "henderson", "barnes",     "gonzales",  "fisher",
    "vasquez",  "simmons",   "romero",     "jordan",    "patterson",  "alexander", "hamilton",
    "graham",   "reynolds",  "griffin",    "wallace",   "moreno",     "west",      "cole",
    "hayes",    "bryant",    "herrera",    "gibson",    "ellis",      "tran",      "medina",
    "aguilar",  "stevens",   "murray",     "ford",      "castro",     "marshall",  "owens",
    "harrison", "fernandez", "mcdonald",   "woods",     "washington", "kennedy",   "wells",
    "vargas",   "henry",     "chen",       "freeman",   "webb",       "tucker",    "guzman",
    "burns",    "crawford",  "olson",      "simpson",   "porter",     "hunter",    "gordon",
    "mendez",   "silva",     "shaw",       "snyder",    "mason",      "dixon",     "munoz",
    "hunt",     "hicks",     "holmes",     "palmer",    "wagner",     "black",     "robertson",
    "boyd",     "rose",      "stone",      "salazar",   "fox",        "warren",    "mills",
    "meyer",    "rice",      "schmidt",    "garza",     "daniels",    "ferguson",  "nichols",
    "stephens", "soto",      "weaver",     "ryan",
};

/* Providers first (the skew makes them dominate), then company-style domains. */
static const char *const mail_domains[] = {
    "gmail.com",        "yahoo.com",      "hotmail.com",   "outlook.com",    "icloud.com",
    "aol.com",          "protonmail.com", "gmx.de",        "mail.ru",        "yahoo.co.uk",
    "live.com",         "web.de",         "msn.com",       "comcast.net",    "orange.fr",
    "yandex.ru",        "qq.com",         "163.com",       "free.fr",        "libero.it",
    "acme.com",         "initech.com",    "globex.com",    "umbrella.io",    "hooli.com",
    "stark.co",         "wayne.org",      "cyberdyne.net", "tyrell.com",     "soylent.co",
    "wonka.com",        "oscorp.io",      "example.org",   "university.edu", "cs.university.edu",
    "research.lab.org", "city.gov",
};

/* Vocabulary for URL hosts, path sections and slugs. */
static const char *const words[] = {
    "news",   "shop",   "blog",   "wiki",   "docs",    "store", "media",    "cloud",   "data",
    "forum",  "travel", "games",  "music",  "video",   "photo", "food",     "sport",   "tech",
    "health", "books",  "market", "home",   "auto",    "style", "finance",  "science", "learn",
    "kids",   "garden", "pets",   "design", "energy",  "space", "world",    "local",   "daily",
    "open",   "smart",  "green",  "global", "city",    "river", "mountain", "ocean",   "north",
    "south",  "east",   "west",   "alpha",  "delta",   "nova",  "pixel",    "quantum", "rapid",
    "silver", "golden", "bright", "urban",  "coastal", "metro",
};

static const char *const sections[] = {
    "products",  "articles", "category", "users",  "questions", "wiki",       "docs",
    "blog",      "news",     "search",   "tags",   "archive",   "2023",       "2024",
    "en-us",     "de",       "fr",       "api/v1", "api/v2",    "help",       "support",
    "downloads", "events",   "jobs",     "about",  "media",     "static/img",
};

static const char *const tlds[] = {".com", ".org", ".net", ".io", ".co.uk", ".de", ".fr", ".info"};

static const char *const subdomains[] = {"www.",  "",   "blog.", "shop.",
                                         "docs.", "m.", "en.",   "api."};

/* An index in [0, count) skewed toward 0: the density of u^skew. */
static size_t pick(uint64_t *rng, size_t count, int skew) {
    double u = rng_unit(rng), p = u;
    for (int i = 1; i < skew; i++)
        p *= u;
    return (size_t)(p * (double)count);
}

#define PICK(rng, list, skew) (list)[pick((rng), COUNT(list), (skew))]

struct out {
    unsigned char *p;
    size_t len;
};

/* Appends s, cut short at BENCH_KEY_LEN_MAX (the length check then rejects the key). */
static void put_str(struct out *o, const char *s) {
    for (; *s && o->len < BENCH_KEY_LEN_MAX; s++)
        o->p[o->len++] = (unsigned char)*s;
}

static void put_num(struct out *o, uint64_t v) {
    char digits[24];
    int d = 0;
    do {
        digits[d++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (d && o->len < BENCH_KEY_LEN_MAX)
        o->p[o->len++] = (unsigned char)digits[--d];
}

static void put3(struct out *o, const char *a, const char *b, const char *c) {
    put_str(o, a);
    put_str(o, b);
    put_str(o, c);
}

/* A number as people append them to names: two digits, a birth year, or up to four digits. */
static void put_user_number(struct out *o, uint64_t *rng) {
    uint64_t r = rng_below(rng, 4);
    if (r == 0)
        put_num(o, 1950 + rng_below(rng, 60));
    else if (r == 1)
        put_num(o, rng_below(rng, 10000));
    else
        put_num(o, 10 + rng_below(rng, 90));
}

size_t keygen_email(uint64_t *rng, unsigned char *buf) {
    for (;;) {
        struct out o = {buf, 0};
        const char *first = PICK(rng, first_names, 2), *last = PICK(rng, last_names, 2);
        uint64_t form = rng_below(rng, 100);
        if (form < 30) {
            put3(&o, first, ".", last); /* first.last */
        } else if (form < 45) {
            put3(&o, first, "", last); /* firstlast */
        } else if (form < 55) {
            put3(&o, first, "_", last); /* first_last */
        } else if (form < 65) {
            o.p[o.len++] = (unsigned char)first[0]; /* flast */
            put_str(&o, last);
        } else if (form < 80) {
            put3(&o, first, ".", last); /* first.last42 */
            put_user_number(&o, rng);
        } else if (form < 92) {
            put_str(&o, first); /* first1987 */
            put_user_number(&o, rng);
        } else {
            put3(&o, last, ".", first); /* last.first */
        }
        put3(&o, "@", PICK(rng, mail_domains, 3), "");
        if (o.len >= 10 && o.len <= 40)
            return o.len;
    }
}

/* Host number h always spells the same host: popular numbers recur as popular hosts. */
static void put_host(struct out *o, uint64_t h) {
    uint64_t r = BENCH_SEED ^ (h * 0x9e3779b97f4a7c15ull);
    put_str(o, PICK(&r, subdomains, 2));
    put_str(o, PICK(&r, words, 1));
    if (rng_below(&r, 2))
        put_str(o, PICK(&r, words, 1));
    put_str(o, PICK(&r, tlds, 2));
}

size_t keygen_url(uint64_t *rng, unsigned char *buf) {
    for (;;) {
        struct out o = {buf, 0};
        put_str(&o, rng_below(rng, 10) ? "https://" : "http://");
        put_host(&o, pick(rng, 4000, 3));
        put_str(&o, "/");
        put_str(&o, PICK(rng, sections, 2));
        int depth = 1 + (int)rng_below(rng, 3);
        for (int d = 0; d < depth; d++) {
            put_str(&o, "/");
            put_str(&o, PICK(rng, words, 2));
        }
        put_str(&o, "/");
        uint64_t tail = rng_below(rng, 3);
        if (tail == 0) { /* a slug */
            for (int w = 0, nw = 2 + (int)rng_below(rng, 4); w < nw; w++) {
                put_str(&o, w ? "-" : "");
                put_str(&o, PICK(rng, words, 1));
            }
        } else { /* an id, sometimes with a query */
            put_num(&o, rng_below(rng, 1000000));
            if (tail == 2) {
                put_str(&o, "?page=");
                put_num(&o, 1 + rng_below(rng, 20));
                put3(&o, "&sort=", PICK(rng, words, 2), "");
            }
        }
        if (o.len >= 30 && o.len <= 120)
            return o.len;
    }
}
