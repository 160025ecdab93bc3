use std::time::Duration;

use tokio::time::{Instant, advance};

use super::*;

fn pacer() -> Pacer {
    Pacer::new(Operation::GetSecretValue)
}

/// Takes turns for `n` calls that have not answered yet: how many got one at once.
async fn turns_at_once(pacer: &Pacer, n: usize) -> Vec<Turn<'_>> {
    let mut turns = Vec::new();
    for _ in 0..n {
        match tokio::time::timeout(Duration::from_millis(1), pacer.turn()).await {
            Ok(turn) => turns.push(turn),
            Err(_) => break,
        }
    }
    turns
}

#[tokio::test(start_paused = true)]
async fn a_new_pacer_opens_its_window_one_call_per_answer() {
    let pacer = pacer();
    let mut in_flight = Vec::new();
    for expected in [1, 2, 4] {
        let turns = turns_at_once(&pacer, 16).await;
        in_flight.push(turns.len());
        assert_eq!(turns.len(), expected, "window so far: {in_flight:?}");
        for turn in turns {
            turn.finish(false);
        }
    }
    // 1 + 2 + 4 answers: the window is 8, and the pacer open.
    assert!(pacer.is_open());
    assert_eq!(turns_at_once(&pacer, 50).await.len(), 50);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_pacer_goes_one_at_a_time_with_growing_jittered_gaps() {
    let pacer = pacer();
    let turn = pacer.turn().await;
    turn.finish(true);
    assert!(!pacer.is_open());
    let mut gaps = Vec::new();
    for grown in [8, 12, 12] {
        let asked = Instant::now();
        let turn = pacer.turn().await;
        gaps.push(Instant::now() - asked);
        assert!(
            turns_at_once(&pacer, 2).await.is_empty(),
            "one call at a time"
        );
        turn.finish(true);
        assert_eq!(pacer.state().gap, Duration::from_secs(grown), "x4, capped");
    }
    // Gaps drawn from [g/2, 3g/2] with g = 2, 8, 12 s (the cap).
    for (gap, ceiling) in gaps.iter().zip([2u64, 8, 12]) {
        let g = Duration::from_secs(ceiling);
        assert!(*gap >= g / 2 && *gap <= g * 3 / 2, "{gaps:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn answers_that_are_not_throttled_shrink_the_gap_until_the_pacer_opens() {
    let pacer = pacer();
    pacer.turn().await.finish(true);
    pacer.turn().await.finish(true);
    // Gap 8 s: times 0.85 for each answer, open once below 100 ms (8 s x 0.85^27 = 99 ms).
    let mut answers = 0;
    while !pacer.is_open() {
        pacer.turn().await.finish(false);
        answers += 1;
        assert!(answers < 40, "never opened");
    }
    assert_eq!(answers, 27);
}

#[tokio::test(start_paused = true)]
async fn throttling_of_calls_sent_before_the_last_change_counts_once() {
    let pacer = pacer();
    for turn in turns_at_once(&pacer, 1).await {
        turn.finish(false);
    }
    let burst = turns_at_once(&pacer, 2).await;
    assert_eq!(burst.len(), 2);
    advance(Duration::from_millis(30)).await;
    for turn in burst {
        turn.finish(true);
    }
    // Two throttled answers to one round of calls: the gap is the first one, not doubled.
    let asked = Instant::now();
    pacer.turn().await.finish(false);
    assert!(Instant::now() - asked <= FIRST_GAP * 3 / 2);
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_turn_frees_its_place() {
    let pacer = pacer();
    drop(pacer.turn().await);
    assert_eq!(turns_at_once(&pacer, 4).await.len(), 1);
}

#[test]
fn pacing_off_has_no_pacers() {
    assert!(Pacers::new(false).of(Operation::GetSecretValue).is_none());
    let on = Pacers::new(true);
    for op in [
        Operation::GetSecretValue,
        Operation::DescribeSecret,
        Operation::BatchGetSecretValue,
    ] {
        assert!(on.of(op).is_some_and(|p| p.op == op));
    }
}
