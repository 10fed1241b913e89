use std::collections::HashSet;

use super::*;

#[test]
fn every_anchor_comment_has_metadata_and_every_entry_a_comment() {
    let sites = anchor_sites();
    let mut seen = HashSet::new();
    for site in &sites {
        assert!(
            seen.insert(site.name.clone()),
            "anchor {} appears twice in the code",
            site.name
        );
        assert!(
            anchor_info(&site.name).is_some(),
            "anchor {} ({}) has no entry in ANCHORS",
            site.name,
            site.file
        );
    }
    let mut names = HashSet::new();
    for info in ANCHORS {
        assert!(names.insert(info.name), "ANCHORS lists {} twice", info.name);
        assert!(
            seen.contains(info.name),
            "ANCHORS lists {} but no `// anchor:` comment names it",
            info.name
        );
    }
}

#[test]
fn every_anchor_sits_inside_or_on_its_function() {
    for site in anchor_sites() {
        let info = anchor_info(&site.name).unwrap();
        let text = file(site.file).unwrap();
        let f = enclosing_function(text, site.line)
            .unwrap_or_else(|| panic!("anchor {} is not in a function", site.name));
        assert_eq!(
            f.name, info.function,
            "anchor {} at {}:{}",
            site.name, site.file, site.line
        );
    }
}

#[test]
fn permalinks_are_well_formed() {
    for info in ANCHORS {
        let r = info.redis;
        assert!(
            r.commit.len() == 40 && r.commit.bytes().all(|b| b.is_ascii_hexdigit()),
            "{}",
            info.name
        );
        assert!(
            r.first_line >= 1 && r.first_line <= r.last_line,
            "{}",
            info.name
        );
        assert!(
            r.file.starts_with("src/") && (r.file.ends_with(".c") || r.file.ends_with(".h")),
            "{}",
            info.name
        );
        let link = r.permalink();
        assert!(
            link.starts_with("https://github.com/redis/redis/blob/"),
            "{link}"
        );
        assert!(
            link.ends_with(&format!("#L{}-L{}", r.first_line, r.last_line)),
            "{link}"
        );
    }
}

#[test]
fn the_sources_are_embedded() {
    let text = file("src/ae/mod.rs").expect("ae embedded");
    assert!(text.contains("pub fn process_events"));
    assert!(files().iter().any(|(p, _)| *p == "src/source/tests.rs"));
}

#[test]
fn excerpt_shows_the_whole_small_function_with_the_line() {
    let site = find_anchor("ae.main").unwrap();
    let ex = excerpt(site.file, site.line, 20).unwrap();
    let f = ex.function.clone().unwrap();
    assert_eq!(f.name, "main");
    assert!(
        ex.lines.first().unwrap().0 <= f.first_line && ex.lines.last().unwrap().0 >= f.last_line
    );
    assert!(ex.lines.iter().any(|(n, _)| *n == site.line));
    assert_eq!(ex.lines.len(), 20);
}

#[test]
fn excerpt_of_a_long_function_keeps_the_line_in_view() {
    let site = find_anchor("ae.poll").unwrap();
    let ex = excerpt(site.file, site.line, 8).unwrap();
    assert_eq!(ex.lines.len(), 8);
    assert!(
        ex.lines
            .iter()
            .any(|(n, text)| *n == site.line + 1 || text.contains("anchor: ae.poll"))
    );
    assert_eq!(ex.function.unwrap().name, "process_events");
}

#[test]
fn excerpt_refuses_nonsense() {
    assert_eq!(excerpt("src/nope.rs", 1, 10), None);
    assert_eq!(excerpt("src/ae/mod.rs", 0, 10), None);
    assert_eq!(excerpt("src/ae/mod.rs", 1_000_000, 10), None);
    assert_eq!(excerpt("src/ae/mod.rs", 1, 0), None);
}

#[test]
fn redis_src_finds_a_function_by_name_in_a_checkout() {
    let dir = std::env::temp_dir().join(format!("loopscope-fake-redis-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("src/ae.c"),
        "/* fake */\nint aeMain(aeEventLoop *el);\n\nvoid aeMain(aeEventLoop *eventLoop) {\n    char *s = \"}\";\n    while (1) { step(); }\n}\n\nint other(void) { return 0; }\n",
    )
    .unwrap();
    let r = redis_7_0_15("aeMain");
    let f = redis::find_function(&dir, &r).unwrap();
    assert_eq!(f.first_line, 4);
    assert_eq!(f.lines.len(), 4, "{:?}", f.lines);
    let missing = RedisRef {
        function: "aeNothing",
        ..r
    };
    assert!(
        redis::find_function(&dir, &missing)
            .unwrap_err()
            .contains("no function named aeNothing")
    );
    let no_file = RedisRef {
        file: "src/none.c",
        ..r
    };
    assert!(
        redis::find_function(&dir, &no_file)
            .unwrap_err()
            .contains("cannot read")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn redis_src_is_the_checkout_or_its_src_folder_and_nothing_else() {
    let base = std::env::temp_dir().join(format!("loopscope-checkouts-{}", std::process::id()));
    let checkout = base.join("redis");
    std::fs::create_dir_all(checkout.join("src")).unwrap();
    std::fs::write(checkout.join("src/ae.c"), "/* fake */\n").unwrap();
    assert_eq!(redis::checkout_root(&checkout), Ok(checkout.clone()));
    assert_eq!(
        redis::checkout_root(&checkout.join("src")),
        Ok(checkout.clone())
    );
    let elsewhere = base.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let e = redis::checkout_root(&elsewhere).unwrap_err();
    assert!(
        e.contains("not a Redis checkout") && e.contains("src/ae.c"),
        "{e}"
    );
    let e = redis::checkout_root(&base.join("missing")).unwrap_err();
    assert!(e.contains("no such folder"), "{e}");
    std::fs::remove_dir_all(&base).unwrap();
}
