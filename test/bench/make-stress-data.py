# Derived data sets of ../shared/data/agnews-noisy for the stress benches (docs/BENCHMARKS.md, "Stress").
# Run from the repo root: python3 test/bench/make-stress-data.py [OUT_DIR]   (default /tmp/peerkd-stress)
# Each set is OUT_DIR/<name>/{train,test}.jsonl, for `node dist/cli.js bench OUT_DIR/<name> --main-only ...`.
import json, os, random, re, sys
src = '../shared/data/agnews-noisy'
out_dir = sys.argv[1] if len(sys.argv) > 1 else '/tmp/peerkd-stress'
load = lambda f: [json.loads(l) for l in open(f'{src}/{f}')]
tr, te = load('train.jsonl'), load('test.jsonl')
def save(name, train, test):
    d = f'{out_dir}/{name}'; os.makedirs(d, exist_ok=True)
    for f, rows in (('train.jsonl', train), ('test.jsonl', test)):
        with open(f'{d}/{f}', 'w') as o:
            for r in rows: o.write(json.dumps(r) + '\n')
# binary: {Business, Sci/Tech} -> econtech, {World, Sports} -> worldsport (teacher and gold alike)
m = {'Business': 'econtech', 'Sci/Tech': 'econtech', 'World': 'worldsport', 'Sports': 'worldsport'}
b = lambda rows: [{**r, 'gold_label': m[r['gold_label']], **({'teacher_label': m[r['teacher_label']]} if r.get('teacher_label') else {})} for r in rows]
save('binary', b(tr), b(te))
# imbalanced: Sports 55 %, Sci/Tech 5 %, World 20 %, Business 20 % (4,545 train rows, 3,000 test rows, same shares)
rng = random.Random(7)
def imb(rows, n):
    out = []
    for lab, s in {'Sports': 0.55, 'Sci/Tech': 0.05, 'World': 0.2, 'Business': 0.2}.items():
        cls = [r for r in rows if r['gold_label'] == lab]; rng.shuffle(cls); out += cls[:round(s * n)]
    rng.shuffle(out); return out
save('imbalanced', imb(tr, 4545), imb(te, 3000))
# abstain20: 2,000 random teacher labels set to null
rng = random.Random(11); ab = [dict(r) for r in tr]
for i in rng.sample(range(len(ab)), 2000): ab[i]['teacher_label'] = None
save('abstain20', ab, te)
# hostile (first 300 train rows / 300 test rows), and a label 'Space' on 1, 3, 10 or 30 rows of the full set
t3, e3 = tr[:300], te[:300]
save('h1-one-row-class', t3 + [{'id': 'rare', 'text': 'A lone rare topic about volcanoes erupting', 'teacher_label': 'Rare', 'gold_label': 'Rare'}], e3)
save('h1-control', t3 + [{'id': 'rare', 'text': 'A lone rare topic about volcanoes erupting', 'teacher_label': 'World', 'gold_label': 'World'}], e3)
two = [r for r in tr[:1200] if r['gold_label'] in ('Sports', 'World') and r['teacher_label'] in ('Sports', 'World')]
save('h2-two-classes', two, [r for r in e3 if r['gold_label'] in ('Sports', 'World')])
h3 = [dict(r) for r in t3]
for r in h3[:5]: r['teacher_label'] = 'Other'
save('h3-teacher-only-label', h3, e3)
save('h8-gold-only-class', [dict(r) for r in t3] + [{'id': 'rare', 'text': 'A lone rare topic about volcanoes erupting', 'teacher_label': 'World', 'gold_label': 'Rare'}], e3)
for name in ('h1-one-row-class', 'h1-control', 'h3-teacher-only-label'):  # the same train rows, 3,000 test rows
    save(name + '-t3000', [json.loads(l) for l in open(f'{out_dir}/{name}/train.jsonl')], te[:3000])
pat = re.compile(r'\b(NASA|space|Mars|astronaut|shuttle|orbit)', re.I)
idx = [i for i, r in enumerate(tr) if r['gold_label'] == 'Sci/Tech' and pat.search(r['text'])]
for n in (1, 3, 10, 30):
    rows = [dict(r) for r in tr]
    for i in idx[:n]: rows[i]['gold_label'] = rows[i]['teacher_label'] = 'Space'
    save(f'rare{n}', rows, te[:3000])
