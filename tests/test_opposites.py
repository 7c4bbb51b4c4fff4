from rag.answer.opposites import opposite


def test_a_word_swapped_for_its_opposite_beside_the_same_word_is_found():
    assert opposite("What is the lowest court in the EU?", "The Court of Justice is the highest court of the EU.") == (
        "lowest court",
        "highest court",
    )
    assert opposite("When do autoimmune diseases strike men?", "Some diseases strike women preferentially.") == (
        "strike men",
        "strike women",
    )
    assert opposite("What is the least used type of reduction?", "The most used reduction is polynomial.") == (
        "least used",
        "most used",
    )


def test_no_opposite_when_the_sentence_also_says_what_was_asked_or_only_shares_a_stop_word():
    assert opposite("What is the highest court?", "The highest court sits here; the lowest, elsewhere.") is None
    assert opposite("Where did water east of the basin flow?", "Water on the west side flowed west.") is None
    assert opposite("Is it more or less than ten?", "It is less than ten.") is None  # both asked
    assert opposite("What did the first king build?", "The last of the kings built a wall.") is None  # no shared word


def test_a_word_against_the_same_word_with_a_negating_prefix_is_an_opposite():
    assert opposite(
        "What is needed to view unencrypted content?", "To view the encrypted content a card is needed."
    ) == (
        "unencrypted content",
        "encrypted content",
    )
    assert opposite("When was the service unofficially launched?", "The service was officially launched in 1998.") == (
        "unofficially launched",
        "officially launched",
    )
    # a question that negates something itself is left alone: "did not oppose a religious war" of "non-religious war"
    assert (
        opposite("Which war did he back, though he did not oppose a religious war?", "He backed non-religious war.")
        is None
    )
