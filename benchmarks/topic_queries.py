"""Queries for judging off-topic behaviour (benchmarks/min_score.py). Each set says when it
was written and what it was used for: a set used to choose anything cannot also judge it."""

OFF_TOPIC = [
    "chocolate cake recipe with buttercream frosting",
    "how do I change a bicycle tyre",
    "best hiking trails in Scotland",
    "the stock market crashed today",
    "who won the football world cup",
    "how to learn the guitar quickly",
    "cheap flights to Barcelona in May",
    "what time does the library open",
    "python list comprehension syntax",
    "renew my passport online",
]

OFF_TOPIC_HELD_OUT = [
    "how to bake sourdough bread at home",
    "train timetable from London to Edinburgh",
    "fix a leaking kitchen tap",
    "the history of the Roman empire",
    "best budget smartphone this year",
    "how to knit a scarf for beginners",
    "lyrics of a famous Beatles song",
    "rules of chess castling",
    "car insurance quotes for young drivers",
    "how to grow tomatoes on a balcony",
]
"""Written after the topic gate was chosen, so they were never used to tune it."""

OFF_TOPIC_SESSION_3 = [
    "how to unclog a bathroom sink drain",
    "best beaches in Portugal for surfing",
    "how much does a used electric car cost",
    "recipe for vegetable lasagne",
    "how to write a cover letter for a job",
    "when is the next full moon",
    "how to train a puppy to sit",
    "opening hours of the post office on Saturday",
    "how to tie a bow tie",
    "what is the capital of Australia",
]
"""Written in session 3, after the topic gate and the minimum score were fixed, and only
measured: nothing was changed because of them."""

OFF_TOPIC_SESSION_4 = [
    "how to change the oil in my car",
    "best time to visit Japan for cherry blossoms",
    "how to make a paper airplane that flies far",
    "who painted the Mona Lisa",
    "how many players are on a basketball team",
    "set up a wifi router at home",
    "how to remove a red wine stain from carpet",
    "what to pack for a weekend camping trip",
    "how to play texas holdem poker",
    "cheap hotels near the Eiffel Tower",
    "how to fold a fitted sheet",
    "when does daylight saving time end",
    "how to write a haiku",
    "best pizza toppings for a party",
    "how to solve a Rubik's cube",
    "what is the plot of Romeo and Juliet",
    "how to iron a shirt without creases",
    "how to jump start a car",
    "how to clean a cast iron pan",
    "convert miles to kilometres",
]
"""Written in session 4 before any session-4 change was tried and committed unrun: the check
for whatever session 4 changes (and for the session-3 default, measured once beside it)."""


IN_DOMAIN_PDFS = {
    "Mock Turtle": "Alice-In-Wonderland.pdf",
    "Cheshire Cat grin": "Alice-In-Wonderland.pdf",
    "where did Alice fall": "Alice-In-Wonderland.pdf",
    "the Queen shouting off with her head": "Alice-In-Wonderland.pdf",
    "Martians": "The-War-of-the-Worlds.pdf",
    "heat-ray": "The-War-of-the-Worlds.pdf",
    "what killed the Martians": "The-War-of-the-Worlds.pdf",
    "the cylinder that landed on Horsell Common": "The-War-of-the-Worlds.pdf",
    "Irene Adler": "Adventures-Of-Sherlock-Holmes.pdf",
    "the red-headed league": "Adventures-Of-Sherlock-Holmes.pdf",
    "Holmes deduces where Watson has been": "Adventures-Of-Sherlock-Holmes.pdf",
    "speckled band": "Adventures-Of-Sherlock-Holmes.pdf",
    "stage fright": "The-Art-of-Public-Speaking.pdf",
    "how to use gestures when speaking": "The-Art-of-Public-Speaking.pdf",
    "voice and breathing for speakers": "The-Art-of-Public-Speaking.pdf",
    "talking to patients with hearing loss": "Safe-Communication.pdf",
    "communication with patients": "Safe-Communication.pdf",
    "social audit of the church": "St-Mary-Witney-Social-Audit.pdf",
    "volunteers at St Mary's": "St-Mary-Witney-Social-Audit.pdf",
    "closed syllables": "Closed-Syllables.pdf",
    "when to use an apostrophe": "Grammar-Matters.pdf",
    "licence termination": "CC_License_Agreement_of_siMPle.pdf",
    "boiler service": "boiler-maintenance.md",
    "sourdough starter": "sourdough.txt",
    "water damage claim excess": "insurance-claim.md",
    "offsite train to Windermere": "team-offsite.html",
}
"""Written in session 4 for the shared PDFs plus tests/data/golden (query -> the file that answers
it) and used, with the first three off-topic sets, to choose session 4's topic check."""

IN_DOMAIN_PDFS_HELD_OUT = {
    "the Hatter's tea party": "Alice-In-Wonderland.pdf",
    "Alice grows very tall": "Alice-In-Wonderland.pdf",
    "caterpillar smoking a hookah": "Alice-In-Wonderland.pdf",
    "the Black Smoke": "The-War-of-the-Worlds.pdf",
    "the artilleryman's plans": "The-War-of-the-Worlds.pdf",
    "the curate": "The-War-of-the-Worlds.pdf",
    "Martian handling machine": "The-War-of-the-Worlds.pdf",
    "a scandal in Bohemia": "Adventures-Of-Sherlock-Holmes.pdf",
    "the blue carbuncle in the goose": "Adventures-Of-Sherlock-Holmes.pdf",
    "Holmes plays the violin": "Adventures-Of-Sherlock-Holmes.pdf",
    "the man with the twisted lip": "Adventures-Of-Sherlock-Holmes.pdf",
    "how to prepare a speech": "The-Art-of-Public-Speaking.pdf",
    "emphasis and inflection": "The-Art-of-Public-Speaking.pdf",
    "memorising a speech": "The-Art-of-Public-Speaking.pdf",
    "transmitting a living body by wire": "The-Man-Without-A-Body.pdf",
    "insurance excess": "insurance-claim.md",
}
"""Written straight after IN_DOMAIN_PDFS and committed before being run: judges the check."""

OFF_TOPIC_SESSION_4B = [
    "how to renew a driving licence",
    "best running shoes for flat feet",
    "how to make cold brew coffee",
    "what is the tallest mountain in Africa",
    "how to reset my email password",
    "how to choose a mortgage",
    "what is the offside rule in football",
    "how to paint a bedroom wall",
    "cheap car rental at the airport",
    "how to build a birdhouse",
    "when was the Golden Gate Bridge built",
    "how to make pancakes without eggs",
    "how to defrost a freezer",
    "what is bitcoin mining",
    "how to sharpen a kitchen knife",
    "the rules of cricket",
    "how to pick a ripe avocado",
    "best board games for families",
    "how to set a table for dinner",
    "how to get rid of ants in the kitchen",
]
"""Written in session 4 after set 4 had judged the phrase check, before stemmed word matching was
tried, and committed unrun: judges the stemmed version."""

IN_DOMAIN_PDFS_SESSION_4B = {
    "the Duchess's baby turns into a pig": "Alice-In-Wonderland.pdf",
    "why is a raven like a writing-desk": "Alice-In-Wonderland.pdf",
    "the Gryphon": "Alice-In-Wonderland.pdf",
    "the trial of the Knave of Hearts": "Alice-In-Wonderland.pdf",
    "the Martians come out of the cylinder": "The-War-of-the-Worlds.pdf",
    "the Thunder Child ironclad": "The-War-of-the-Worlds.pdf",
    "red weed": "The-War-of-the-Worlds.pdf",
    "the narrator's brother flees London": "The-War-of-the-Worlds.pdf",
    "Jabez Wilson": "Adventures-Of-Sherlock-Holmes.pdf",
    "the five orange pips": "Adventures-Of-Sherlock-Holmes.pdf",
    "a case of identity": "Adventures-Of-Sherlock-Holmes.pdf",
    "the engineer's thumb": "Adventures-Of-Sherlock-Holmes.pdf",
    "fear of the audience": "The-Art-of-Public-Speaking.pdf",
    "the use of pause in speech": "The-Art-of-Public-Speaking.pdf",
    "leaking pipe in the loft": "insurance-claim.md",
    "Lakeside Mutual": "insurance-claim.md",
}
"""Written with OFF_TOPIC_SESSION_4B and committed unrun: judges the stemmed version."""
