//! Indonesian personal names by regional naming tradition, so that a synthetic roster reads like a real one.
//!
//! Traditions differ in shape, not only in the names: Javanese and Sundanese people often have one name;
//! Batak, Minahasa, Maluku, NTT and Papuan families carry a family name (marga / fam) passed to the children;
//! Balinese names start with a birth-order name (Wayan, Made, Nyoman, Ketut); in Aceh and South Sulawesi some
//! families use titles (Teuku / Cut, Andi). Children born after ~1995 often get the newer names common all over
//! the country.

use rand::Rng;
use rand::seq::IndexedRandom;

use tepat_form::identity::Sex;

/// A naming tradition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Culture {
    Javanese,
    Sundanese,
    Malay,
    Minang,
    Batak,
    Acehnese,
    Balinese,
    Bugis,
    Minahasa,
    Ntt,
    Maluku,
    Papuan,
    Banjar,
    Chinese,
}

struct Pool {
    male: &'static [&'static str],
    female: &'static [&'static str],
    /// Second names (for two-part names without a family name).
    male_second: &'static [&'static str],
    female_second: &'static [&'static str],
    /// Family names passed from father to children (empty: the tradition has none).
    family: &'static [&'static str],
    /// Share of people with a single name (no second name).
    single: f64,
}

const ISLAMIC_M2: &[&str] = &[
    "Fauzi",
    "Hakim",
    "Rahman",
    "Arifin",
    "Effendi",
    "Syahputra",
    "Hamzah",
    "Husin",
    "Saleh",
    "Hidayat",
    "Ramadhan",
    "Maulana",
    "Firmansyah",
    "Kurniawan",
    "Saputra",
];
const ISLAMIC_F2: &[&str] = &[
    "Wati",
    "Yanti",
    "Hayati",
    "Sari",
    "Hasanah",
    "Rahmawati",
    "Fitriani",
    "Handayani",
    "Safitri",
    "Ramadhani",
    "Nuraini",
    "Lestari",
];

const JAVANESE: Pool = Pool {
    male: &[
        "Budi",
        "Agus",
        "Slamet",
        "Joko",
        "Sugeng",
        "Bambang",
        "Heru",
        "Eko",
        "Teguh",
        "Wahyu",
        "Sutrisno",
        "Suparman",
        "Sumarno",
        "Hadi",
        "Darmanto",
        "Supriyadi",
        "Waluyo",
        "Untung",
        "Rudi",
        "Suyanto",
        "Suroso",
        "Karyono",
        "Purwanto",
        "Sarwono",
        "Mulyono",
        "Sukirno",
        "Tukiman",
        "Paijo",
        "Ngadiman",
        "Wagiman",
    ],
    female: &[
        "Sri", "Siti", "Wahyuni", "Endang", "Sumarni", "Suparmi", "Tutik", "Lestari", "Rahayu",
        "Dewi", "Ani", "Ningsih", "Yuliani", "Kartini", "Puji", "Suwarni", "Sutarti", "Murni",
        "Sulastri", "Partini", "Tumini", "Sumiyati", "Rini", "Suminah", "Painem", "Tukinah",
        "Sarmi", "Wartini",
    ],
    male_second: &[
        "Santoso",
        "Wibowo",
        "Susanto",
        "Prasetyo",
        "Setiawan",
        "Nugroho",
        "Purnomo",
        "Handoko",
        "Widodo",
        "Utomo",
        "Hartono",
        "Suharto",
        "Riyanto",
        "Wijayanto",
        "Sulistyo",
    ],
    female_second: &[
        "Lestari",
        "Rahayu",
        "Wulandari",
        "Handayani",
        "Susanti",
        "Astuti",
        "Purwanti",
        "Ningsih",
        "Suryani",
        "Puspitasari",
        "Setyaningsih",
        "Kusumawati",
    ],
    family: &[],
    single: 0.55,
};

const SUNDANESE: Pool = Pool {
    male: &[
        "Asep", "Ujang", "Dede", "Cecep", "Dadang", "Yayat", "Iwan", "Deden", "Ade", "Aceng",
        "Engkos", "Jajang", "Nandang", "Dadan", "Ayi", "Entis", "Odang", "Rohmat", "Acep", "Ohim",
    ],
    female: &[
        "Euis", "Neng", "Imas", "Iis", "Yati", "Eti", "Cucu", "Enok", "Lilis", "Nenden", "Rina",
        "Ai", "Elis", "Tati", "Titin", "Popon", "Enung", "Cicih", "Nining", "Iyam",
    ],
    male_second: &[
        "Suherman",
        "Sudrajat",
        "Kurnia",
        "Permana",
        "Supriatna",
        "Hermawan",
        "Gunawan",
        "Hidayat",
        "Mulyana",
        "Sopian",
        "Rukmana",
        "Saepudin",
    ],
    female_second: &[
        "Nurhayati",
        "Rohayati",
        "Kurniasih",
        "Komalasari",
        "Mulyani",
        "Sumiati",
        "Rosita",
        "Maryati",
        "Juariah",
        "Aisah",
    ],
    family: &[],
    single: 0.5,
};

const MALAY: Pool = Pool {
    male: &[
        "Ahmad",
        "Zulkifli",
        "Syamsul",
        "Hasan",
        "Ismail",
        "Rusli",
        "Zainal",
        "Abdullah",
        "Azhar",
        "Herman",
        "Jamaludin",
        "Rahman",
        "Yusuf",
        "Syafrudin",
        "Darwis",
        "Sulaiman",
        "Badrun",
        "Mansur",
        "Harun",
        "Edi",
    ],
    female: &[
        "Nurhayati",
        "Rosmiati",
        "Zubaidah",
        "Aminah",
        "Fatimah",
        "Yusnani",
        "Rohana",
        "Salmah",
        "Nuraini",
        "Hasnah",
        "Rahmah",
        "Maimunah",
        "Zuraidah",
        "Asmah",
        "Jamilah",
        "Sarinah",
        "Yusmaniar",
        "Rusmini",
    ],
    male_second: ISLAMIC_M2,
    female_second: ISLAMIC_F2,
    family: &[],
    single: 0.35,
};

const MINANG: Pool = Pool {
    male: &[
        "Afrizal", "Syafri", "Yulizar", "Hendri", "Zulfikar", "Jasman", "Erman", "Nasrul", "Rizal",
        "Andri", "Asril", "Darmawan", "Yusrizal", "Syahrial", "Novrizal", "Alfian",
    ],
    female: &[
        "Yusnimar",
        "Nurlela",
        "Yasnidar",
        "Ernita",
        "Desmawati",
        "Rosnidar",
        "Elfira",
        "Fitriani",
        "Yulia",
        "Nelvi",
        "Yurnalis",
        "Syafrida",
        "Nurmaini",
        "Elvi",
    ],
    male_second: &[
        "Putra",
        "Efendi",
        "Syahputra",
        "Chaniago",
        "Piliang",
        "Tanjung",
        "Koto",
        "Sikumbang",
    ],
    female_second: &["Yanti", "Wati", "Sari", "Rahmi", "Novita", "Susanti"],
    family: &[],
    single: 0.6,
};

const BATAK: Pool = Pool {
    male: &[
        "Martua",
        "Parlindungan",
        "Hotman",
        "Roy",
        "Benny",
        "Jonny",
        "Sahat",
        "Tigor",
        "Maruli",
        "Poltak",
        "Bonar",
        "Marihot",
        "Togar",
        "Binsar",
        "Halomoan",
        "Parulian",
        "Rudolf",
        "Saut",
    ],
    female: &[
        "Rosmawati",
        "Tiurma",
        "Lasmaria",
        "Hotnida",
        "Rumiris",
        "Dameria",
        "Nurmala",
        "Ruth",
        "Sondang",
        "Tiominar",
        "Rosdiana",
        "Mery",
        "Lamria",
        "Hotmaida",
    ],
    male_second: &[],
    female_second: &[],
    family: &[
        "Siregar",
        "Nasution",
        "Harahap",
        "Simanjuntak",
        "Sitompul",
        "Hutapea",
        "Panjaitan",
        "Simatupang",
        "Sinaga",
        "Situmorang",
        "Pardede",
        "Lubis",
        "Tambunan",
        "Manurung",
        "Sihombing",
        "Silalahi",
        "Hutagalung",
        "Gultom",
        "Pasaribu",
        "Sitorus",
        "Damanik",
        "Purba",
        "Ginting",
        "Tarigan",
    ],
    single: 0.0,
};

const ACEHNESE: Pool = Pool {
    male: &[
        "Muhammad",
        "Zulfahmi",
        "Mukhlis",
        "Safrizal",
        "Marzuki",
        "Bukhari",
        "Jafar",
        "Husaini",
        "Nasrullah",
        "Fadli",
        "Murdani",
        "Iskandar",
        "Taufik",
        "Khairul",
        "Muzakir",
        "Zulkarnaini",
    ],
    female: &[
        "Nurul",
        "Rahmi",
        "Khairiah",
        "Zakiah",
        "Mawaddah",
        "Hayatun",
        "Ainul",
        "Nurhasanah",
        "Ratna",
        "Maryam",
        "Rosmani",
        "Salamah",
        "Hafsah",
        "Nurlaili",
    ],
    male_second: ISLAMIC_M2,
    female_second: ISLAMIC_F2,
    family: &[],
    single: 0.3,
};

const BALINESE: Pool = Pool {
    male: &[
        "Sudarsana",
        "Suardana",
        "Artawan",
        "Budiasa",
        "Sukadana",
        "Mertayasa",
        "Darma",
        "Adnyana",
        "Wirawan",
        "Sudiarta",
        "Suarjana",
        "Mahardika",
        "Antara",
        "Wiryawan",
        "Suastika",
    ],
    female: &[
        "Ariani",
        "Sukerti",
        "Suarni",
        "Widiastuti",
        "Sriasih",
        "Puspawati",
        "Sudarmini",
        "Rusmini",
        "Kariani",
        "Astini",
        "Sukarmi",
        "Wartini",
        "Suryani",
        "Darmini",
    ],
    male_second: &[],
    female_second: &[],
    family: &[],
    single: 1.0,
};

const BUGIS: Pool = Pool {
    male: &[
        "Muhammad",
        "Syamsuddin",
        "Baharuddin",
        "Amiruddin",
        "Hasanuddin",
        "Jamaluddin",
        "Ridwan",
        "Arifin",
        "Sudirman",
        "Nurdin",
        "Syarifuddin",
        "Kaharuddin",
        "Ilham",
        "Mustari",
        "Rahmat",
        "Abdul Rasyid",
    ],
    female: &[
        "Hasnawati",
        "Nurhaedah",
        "Sitti Aminah",
        "Hasmiah",
        "Masnawati",
        "Nurjannah",
        "Rosmini",
        "Haslinda",
        "Darmawati",
        "Hamsiah",
        "Suriani",
        "Nurbaya",
        "Hadijah",
        "Marwah",
    ],
    male_second: ISLAMIC_M2,
    female_second: ISLAMIC_F2,
    family: &[],
    single: 0.55,
};

const MINAHASA: Pool = Pool {
    male: &[
        "Johny", "Frans", "Stevie", "Meiky", "Hendrik", "Recky", "Ronald", "Jefry", "Alfrits",
        "Novry", "Herry", "Deddy", "Marthen", "Jemmy",
    ],
    female: &[
        "Meity", "Vonny", "Sisca", "Deisy", "Jeane", "Olvie", "Lenny", "Marlin", "Telly", "Grace",
        "Nova", "Syeni", "Femmy", "Linda",
    ],
    male_second: &[],
    female_second: &[],
    family: &[
        "Kaunang",
        "Sumampouw",
        "Wenas",
        "Rumengan",
        "Lumentut",
        "Pangemanan",
        "Mandagi",
        "Tumbelaka",
        "Lengkong",
        "Rondonuwu",
        "Mamahit",
        "Walangitan",
        "Tumiwa",
        "Kalalo",
        "Sondakh",
        "Rompas",
    ],
    single: 0.0,
};

const NTT: Pool = Pool {
    male: &[
        "Yohanes",
        "Fransiskus",
        "Agustinus",
        "Petrus",
        "Paulus",
        "Yosef",
        "Markus",
        "Stefanus",
        "Aloysius",
        "Mikael",
        "Gregorius",
        "Kornelis",
        "Yakobus",
        "Bernadus",
        "Dominikus",
    ],
    female: &[
        "Maria",
        "Yohana",
        "Theresia",
        "Agustina",
        "Veronika",
        "Katarina",
        "Magdalena",
        "Fransiska",
        "Elisabeth",
        "Margaretha",
        "Yuliana",
        "Anastasia",
        "Paulina",
        "Regina",
    ],
    male_second: &[],
    female_second: &[],
    family: &[
        "Lewar",
        "Kolo",
        "Tefa",
        "Nenobais",
        "Bere",
        "Mau",
        "Seran",
        "Koten",
        "Lamawuran",
        "Ndun",
        "Pah",
        "Manafe",
        "Laka",
        "Ratu",
        "Wula",
        "Kehi",
        "Fanggidae",
        "Nalle",
    ],
    single: 0.0,
};

const MALUKU: Pool = Pool {
    male: &[
        "Yohanis", "Semuel", "Johanis", "Izaak", "Abraham", "Daniel", "Frederik", "Hendrik",
        "Ruben", "Yusuf", "Ali", "Hasan",
    ],
    female: &[
        "Elsina", "Yohana", "Welmina", "Martha", "Lea", "Ester", "Fatma", "Nona", "Salomina",
        "Agustina", "Hadija", "Sarah",
    ],
    male_second: &[],
    female_second: &[],
    family: &[
        "Pattiasina",
        "Latuheru",
        "Tuhumury",
        "Manuputty",
        "Matulessy",
        "Pattinama",
        "Sahetapy",
        "Tahapary",
        "Leiwakabessy",
        "Ririmasse",
        "Tuasikal",
        "Ohorella",
        "Marasabessy",
        "Latuconsina",
        "Wattimena",
    ],
    single: 0.0,
};

const PAPUAN: Pool = Pool {
    male: &[
        "Yohanis", "Markus", "Yakobus", "Lukas", "Elias", "Daniel", "Obed", "Yulianus", "Natalis",
        "Simon", "Yance", "Benny", "Otto", "Nikolaus",
    ],
    female: &[
        "Yuliana", "Martha", "Debora", "Lea", "Naomi", "Rahel", "Sarah", "Ester", "Marince",
        "Fince", "Yakomina", "Dorkas", "Selfina", "Ribka",
    ],
    male_second: &[],
    female_second: &[],
    family: &[
        "Wenda",
        "Tabuni",
        "Kogoya",
        "Wonda",
        "Yikwa",
        "Mote",
        "Pigai",
        "Rumbiak",
        "Mandowen",
        "Wanggai",
        "Kambu",
        "Yoku",
        "Ayomi",
        "Rumaropen",
        "Awom",
        "Kossay",
        "Gobai",
        "Tebai",
    ],
    single: 0.0,
};

const BANJAR: Pool = Pool {
    male: &[
        "Muhammad",
        "Ahmad",
        "Rahmadi",
        "Bahrani",
        "Syahrani",
        "Ahmadi",
        "Mahyudin",
        "Fahrurrazi",
        "Jumberi",
        "Salman",
        "Gusti",
        "Anang",
        "Idrus",
        "Hamdani",
    ],
    female: &[
        "Jamilah",
        "Masriah",
        "Mahmudah",
        "Rusmini",
        "Hamidah",
        "Norhayati",
        "Syarifah",
        "Rabiatul",
        "Salasiah",
        "Normilah",
        "Fauziah",
        "Jubaidah",
    ],
    male_second: ISLAMIC_M2,
    female_second: ISLAMIC_F2,
    family: &[],
    single: 0.5,
};

const CHINESE: Pool = Pool {
    male: &[
        "Hendra", "Budi", "Tjandra", "Andi", "Sugianto", "Rudy", "Hendrik", "Ferry", "Willy",
        "Agus", "Johan", "Kevin",
    ],
    female: &[
        "Lina", "Mei", "Susanti", "Lily", "Yenny", "Melinda", "Sherly", "Vivian", "Linda", "Fenny",
        "Elisa", "Cindy",
    ],
    male_second: &[],
    female_second: &[],
    family: &[
        "Wijaya", "Santoso", "Halim", "Gunawan", "Tanoto", "Salim", "Tan", "Lim", "Tjahjadi",
        "Kusuma", "Sutanto", "Hartono", "Setiadi", "Liem",
    ],
    single: 0.0,
};

/// Names given all over the country to children born from the mid-1990s on.
const MODERN_M: &[&str] = &[
    "Muhammad Rizki",
    "Fajar",
    "Dimas",
    "Bayu",
    "Aditya",
    "Rizky",
    "Arif",
    "Farhan",
    "Raka",
    "Galih",
    "Daffa",
    "Alif",
    "Naufal",
    "Zidan",
    "Rafi",
    "Arkan",
    "Bima",
    "Reza",
    "Ilham",
    "Fikri",
    "Yoga",
    "Kevin",
    "Rangga",
    "Aldi",
    "Akbar",
];
const MODERN_F: &[&str] = &[
    "Putri",
    "Nabila",
    "Aulia",
    "Salsabila",
    "Zahra",
    "Anisa",
    "Dinda",
    "Fitri",
    "Intan",
    "Nur Aini",
    "Aisyah",
    "Keisha",
    "Alya",
    "Citra",
    "Amelia",
    "Nadia",
    "Rahma",
    "Tiara",
    "Syifa",
    "Vina",
    "Dwi Lestari",
    "Indah",
];
const MODERN_M2: &[&str] = &[
    "Pratama",
    "Saputra",
    "Ramadhan",
    "Putra",
    "Maulana",
    "Firmansyah",
    "Hidayat",
    "Nugraha",
    "Setiawan",
    "Kurniawan",
    "Wijaya",
    "Prasetya",
];
const MODERN_F2: &[&str] = &[
    "Putri",
    "Lestari",
    "Rahmawati",
    "Safitri",
    "Aprilia",
    "Ramadhani",
    "Azzahra",
    "Maharani",
    "Anggraini",
    "Permatasari",
    "Wulandari",
    "Oktaviani",
];

const BALI_ORDER_M: [&str; 4] = ["I Wayan", "I Made", "I Nyoman", "I Ketut"];
const BALI_ORDER_M_ALT: [&str; 4] = ["I Putu", "I Kadek", "I Komang", "I Ketut"];
const BALI_ORDER_F: [&str; 4] = ["Ni Luh", "Ni Made", "Ni Nyoman", "Ni Ketut"];

fn pool(culture: Culture) -> &'static Pool {
    match culture {
        Culture::Javanese => &JAVANESE,
        Culture::Sundanese => &SUNDANESE,
        Culture::Malay => &MALAY,
        Culture::Minang => &MINANG,
        Culture::Batak => &BATAK,
        Culture::Acehnese => &ACEHNESE,
        Culture::Balinese => &BALINESE,
        Culture::Bugis => &BUGIS,
        Culture::Minahasa => &MINAHASA,
        Culture::Ntt => &NTT,
        Culture::Maluku => &MALUKU,
        Culture::Papuan => &PAPUAN,
        Culture::Banjar => &BANJAR,
        Culture::Chinese => &CHINESE,
    }
}

/// The naming traditions of a province (by its two-digit code) with their weights.
fn cultures_of(province: &str) -> &'static [(Culture, u32)] {
    use Culture::*;
    match province {
        "11" => &[(Acehnese, 85), (Malay, 5), (Javanese, 8), (Batak, 2)],
        "12" => &[
            (Batak, 45),
            (Malay, 20),
            (Javanese, 28),
            (Minang, 4),
            (Chinese, 3),
        ],
        "13" => &[(Minang, 88), (Batak, 4), (Javanese, 6), (Malay, 2)],
        "14" | "15" | "16" | "19" | "21" => &[
            (Malay, 55),
            (Javanese, 25),
            (Minang, 8),
            (Batak, 7),
            (Chinese, 5),
        ],
        "17" => &[
            (Malay, 52),
            (Javanese, 28),
            (Minang, 10),
            (Sundanese, 5),
            (Batak, 5),
        ],
        "18" => &[(Javanese, 60), (Malay, 20), (Sundanese, 15), (Minang, 5)],
        "31" => &[
            (Javanese, 35),
            (Sundanese, 20),
            (Malay, 15),
            (Batak, 10),
            (Minang, 8),
            (Chinese, 7),
            (Minahasa, 5),
        ],
        "32" | "36" => &[(Sundanese, 75), (Javanese, 18), (Malay, 4), (Chinese, 3)],
        "33" | "34" | "35" => &[(Javanese, 95), (Malay, 2), (Chinese, 3)],
        "51" => &[(Balinese, 88), (Javanese, 10), (Malay, 2)],
        "52" => &[(Malay, 50), (Balinese, 15), (Bugis, 20), (Javanese, 15)],
        "53" => &[(Ntt, 90), (Bugis, 5), (Javanese, 5)],
        "61" => &[
            (Malay, 45),
            (Javanese, 20),
            (Ntt, 15),
            (Chinese, 10),
            (Bugis, 10),
        ],
        "62" | "63" => &[(Banjar, 60), (Javanese, 25), (Malay, 10), (Ntt, 5)],
        "64" | "65" => &[(Bugis, 35), (Javanese, 35), (Banjar, 20), (Ntt, 10)],
        "71" => &[(Minahasa, 80), (Bugis, 10), (Javanese, 5), (Chinese, 5)],
        "72" | "76" => &[(Bugis, 65), (Javanese, 15), (Minahasa, 10), (Malay, 10)],
        "73" | "74" => &[(Bugis, 85), (Javanese, 10), (Chinese, 5)],
        "75" => &[(Bugis, 60), (Malay, 35), (Minahasa, 5)],
        "81" | "82" => &[(Maluku, 80), (Bugis, 12), (Javanese, 8)],
        "91" | "92" | "93" | "94" | "95" | "96" => {
            &[(Papuan, 70), (Javanese, 12), (Bugis, 10), (Maluku, 8)]
        }
        _ => &[(Javanese, 50), (Malay, 30), (Sundanese, 20)],
    }
}

/// Picks a naming tradition for a family living in a province.
pub fn pick_culture(rng: &mut impl Rng, province: &str) -> Culture {
    let options = cultures_of(province);
    let total: u32 = options.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (culture, weight) in options {
        if roll < *weight {
            return *culture;
        }
        roll -= weight;
    }
    Culture::Javanese
}

/// Whether the tradition passes a family name from father to children.
pub fn has_family_name(culture: Culture) -> bool {
    !pool(culture).family.is_empty()
}

/// A family name of the tradition (empty string when it has none).
pub fn family_name(rng: &mut impl Rng, culture: Culture) -> &'static str {
    pool(culture).family.choose(rng).copied().unwrap_or("")
}

fn pick<'a>(rng: &mut impl Rng, list: &[&'a str], fallback: &'a str) -> &'a str {
    list.choose(rng).copied().unwrap_or(fallback)
}

/// A full name. `family` is the family name to carry (traditions with family names); `birth_order` (0-based)
/// matters for Balinese names; `birth_year` chooses between older and newer given names.
pub fn person_name(
    rng: &mut impl Rng,
    culture: Culture,
    sex: Sex,
    birth_year: i32,
    birth_order: usize,
    family: &str,
) -> String {
    let p = pool(culture);
    let modern = birth_year >= 1995 && rng.random_bool(0.6);
    let given = match (modern, sex) {
        (true, Sex::Male) => pick(rng, MODERN_M, "Rizki"),
        (true, Sex::Female) => pick(rng, MODERN_F, "Putri"),
        (false, Sex::Male) => pick(rng, p.male, "Budi"),
        (false, Sex::Female) => pick(rng, p.female, "Siti"),
    };
    if culture == Culture::Balinese {
        let order = birth_order % 4;
        let prefix = match sex {
            Sex::Male if rng.random_bool(0.3) => BALI_ORDER_M_ALT[order],
            Sex::Male => BALI_ORDER_M[order],
            Sex::Female => BALI_ORDER_F[order],
        };
        return format!("{prefix} {given}");
    }
    if !family.is_empty() {
        return format!("{given} {family}");
    }
    let title = match (culture, sex) {
        (Culture::Acehnese, Sex::Male) if rng.random_bool(0.08) => "Teuku ",
        (Culture::Acehnese, Sex::Female) if rng.random_bool(0.08) => "Cut ",
        (Culture::Bugis, _) if rng.random_bool(0.08) => "Andi ",
        _ => "",
    };
    if rng.random_bool(p.single) && !modern {
        return format!("{title}{given}");
    }
    let second = match (modern, sex) {
        (true, Sex::Male) => pick(rng, MODERN_M2, "Pratama"),
        (true, Sex::Female) => pick(rng, MODERN_F2, "Lestari"),
        (false, Sex::Male) => pick(rng, p.male_second, ""),
        (false, Sex::Female) => pick(rng, p.female_second, ""),
    };
    if second.is_empty() || second == given {
        format!("{title}{given}")
    } else {
        format!("{title}{given} {second}")
    }
}

/// A few street names for addresses.
pub const STREETS: &[&str] = &[
    "Jl. Merdeka",
    "Jl. Sudirman",
    "Jl. Ahmad Yani",
    "Jl. Diponegoro",
    "Jl. Pahlawan",
    "Jl. Flamboyan",
    "Jl. Melati",
    "Jl. Kenanga",
    "Jl. Mawar",
    "Jl. Cempaka",
    "Jl. Kartini",
    "Jl. Pattimura",
    "Jl. Hasanuddin",
    "Jl. Imam Bonjol",
    "Jl. Teuku Umar",
    "Jl. Gajah Mada",
    "Jl. Veteran",
    "Jl. Pemuda",
    "Jl. Kemuning",
    "Jl. Nusa Indah",
    "Gg. Masjid",
    "Gg. Mushola",
    "Gg. Sepakat",
    "Gg. Damai",
    "Jl. Raya Desa",
];

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn balinese_names_follow_birth_order() {
        let mut rng = StdRng::seed_from_u64(1);
        let first = person_name(&mut rng, Culture::Balinese, Sex::Female, 1980, 0, "");
        let third = person_name(&mut rng, Culture::Balinese, Sex::Female, 1985, 2, "");
        assert!(first.starts_with("Ni Luh "), "{first}");
        assert!(third.starts_with("Ni Nyoman "), "{third}");
    }

    #[test]
    fn family_names_are_carried() {
        let mut rng = StdRng::seed_from_u64(2);
        let name = person_name(&mut rng, Culture::Batak, Sex::Male, 2005, 1, "Siregar");
        assert!(name.ends_with(" Siregar"), "{name}");
        assert!(has_family_name(Culture::Batak));
        assert!(!has_family_name(Culture::Javanese));
    }

    #[test]
    fn every_province_has_cultures() {
        let mut rng = StdRng::seed_from_u64(3);
        for region in tepat_form::region::regions().children(None) {
            assert!(!cultures_of(region.code).is_empty());
            let c = pick_culture(&mut rng, region.code);
            let family = family_name(&mut rng, c);
            let name = person_name(&mut rng, c, Sex::Male, 1970, 0, family);
            assert!(name.len() >= 2, "{name}");
        }
    }
}
