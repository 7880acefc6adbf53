// Deterministic demo data at the pilot size of a property company: by default 12 estates and 8,000 households
// with realistic Chinese names, 房号 like 3-1-0502, mainland mobile numbers and valid-checksum ID numbers.
// The same seed always yields the same people, so benchmarks and screenshots are comparable across runs.
import { type Faker, fakerZH_CN } from '@faker-js/faker';

export interface GenOptions {
  estates: number;
  households: number;
  seed: number;
}

export interface GenPerson {
  id: string;
  name: string;
  relation: 'owner' | 'spouse' | 'child' | 'parent';
  gender: 'female' | 'male';
  phone: string | null;
  idNumber: string | null;
}
export interface GenHousehold {
  id: string;
  unitIndex: number;
  movedInAt: Date;
  persons: GenPerson[];
  vehicles: { plate: string; parkingSpace: string | null }[];
}
export interface GenUnit {
  id: string;
  buildingIndex: number;
  number: string;
  floor: number;
  areaCentiSqm: number;
}
export interface GenEstate {
  id: string;
  code: string;
  name: string;
  city: string;
  province: string;
  buildings: { id: string; name: string; floors: number }[];
  units: GenUnit[];
  households: GenHousehold[];
}

const CITIES = [
  ['上海', '沪', '310101'],
  ['杭州', '浙', '330102'],
  ['南京', '苏', '320102'],
  ['深圳', '粤', '440303'],
  ['成都', '川', '510104'],
  ['武汉', '鄂', '420102'],
] as const;
const ESTATE_WORDS = ['阳光', '翠湖', '锦绣', '滨江', '紫荆', '金桂', '碧水', '香樟', '云顶', '御景', '星河', '华府'];
const ESTATE_KINDS = ['花园', '小区', '苑', '公寓', '家园', '名邸'];
const PREFIXES = [
  '138',
  '139',
  '136',
  '137',
  '135',
  '150',
  '151',
  '158',
  '159',
  '186',
  '187',
  '188',
  '177',
  '180',
  '189',
];
const FLOORS = 18;
const STAIRS = 2;
const ROOMS = 2;

/** GB 11643-1999 check digit. */
export function idCheckDigit(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * (weights[i] ?? 0), 0);
  return '10X98765432'[sum % 11] ?? '0';
}

function idNumber(f: Faker, region: string, gender: 'female' | 'male', birth: Date): string {
  const ymd = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const seq = f.number.int({ min: 0, max: 49 }) * 2 + (gender === 'male' ? 1 : 0);
  const first17 = `${region}${ymd}${f.string.numeric(1)}${String(seq).padStart(2, '0')}`;
  return first17 + idCheckDigit(first17);
}

function person(f: Faker, region: string, relation: GenPerson['relation'], surname: string, adult: boolean): GenPerson {
  const gender = f.helpers.arrayElement(['female', 'male'] as const);
  const birth = adult
    ? f.date.birthdate({ mode: 'age', min: 25, max: relation === 'parent' ? 85 : 65 })
    : f.date.birthdate({ mode: 'age', min: 1, max: 17 });
  return {
    id: f.string.uuid(),
    name: surname + f.person.firstName(gender),
    relation,
    gender,
    phone: adult ? `${f.helpers.arrayElement(PREFIXES)}${f.string.numeric(8)}` : null,
    idNumber: idNumber(f, region, gender, birth),
  };
}

export function generateDemo(options: GenOptions): GenEstate[] {
  const f = fakerZH_CN;
  f.seed(options.seed);
  f.setDefaultRefDate(new Date('2025-01-01T00:00:00Z'));
  const estates: GenEstate[] = [];
  for (let e = 0; e < options.estates; e++) {
    const [city, province, region] = CITIES[e % CITIES.length] ?? CITIES[0];
    const count = Math.floor(options.households / options.estates) + (e < options.households % options.estates ? 1 : 0);
    const perBuilding = FLOORS * STAIRS * ROOMS;
    const buildingCount = Math.max(1, Math.ceil(count / perBuilding / 0.93));
    const buildings = Array.from({ length: buildingCount }, (_, b) => ({
      id: f.string.uuid(),
      name: `${b + 1}栋`,
      floors: FLOORS,
    }));
    const units: GenUnit[] = [];
    for (let b = 0; b < buildingCount; b++) {
      for (let s = 1; s <= STAIRS; s++) {
        for (let fl = 1; fl <= FLOORS; fl++) {
          for (let r = 1; r <= ROOMS; r++) {
            units.push({
              id: f.string.uuid(),
              buildingIndex: b,
              number: `${b + 1}-${s}-${String(fl).padStart(2, '0')}${String(r).padStart(2, '0')}`,
              floor: fl,
              areaCentiSqm: f.number.int({ min: 6_000, max: 16_000 }),
            });
          }
        }
      }
    }
    const occupied = f.helpers.arrayElements(Array.from(units.keys()), count).sort((a, b) => a - b);
    const plates = new Set<string>();
    const households = occupied.map((unitIndex): GenHousehold => {
      const surname = f.person.lastName();
      const persons = [person(f, region, 'owner', surname, true)];
      if (f.datatype.boolean(0.7)) persons.push(person(f, region, 'spouse', f.person.lastName(), true));
      if (f.datatype.boolean(0.5)) persons.push(person(f, region, 'child', surname, false));
      if (f.datatype.boolean(0.2)) persons.push(person(f, region, 'parent', surname, true));
      const vehicles: GenHousehold['vehicles'] = [];
      if (f.datatype.boolean(0.4)) {
        let plate: string;
        do
          plate = `${province}${f.string.alpha({ length: 1, casing: 'upper', exclude: ['I', 'O'] })}${f.string.alphanumeric({ length: 5, casing: 'upper', exclude: ['I', 'O'] })}`;
        while (plates.has(plate));
        plates.add(plate);
        vehicles.push({
          plate,
          parkingSpace: f.datatype.boolean(0.6) ? `B${f.number.int({ min: 1, max: 2 })}-${f.string.numeric(3)}` : null,
        });
      }
      return { id: f.string.uuid(), unitIndex, movedInAt: f.date.past({ years: 10 }), persons, vehicles };
    });
    estates.push({
      id: f.string.uuid(),
      code: `E${String(e + 1).padStart(2, '0')}`,
      name: `${ESTATE_WORDS[e % ESTATE_WORDS.length]}${ESTATE_KINDS[e % ESTATE_KINDS.length]}${e >= ESTATE_WORDS.length ? e + 1 : ''}`,
      city,
      province,
      buildings,
      units,
      households,
    });
  }
  return estates;
}
