"""The router's words, by class: what asks for a change, what asks a question, what names a skill, what
tries to get around a gate, what no capability does. Each class is a pattern of how people write, not a
list of sentences; `agent.router` decides with them.
"""

from __future__ import annotations

import re

_I = re.I

# Said before the request itself: greetings, politeness, "can you", "I'd like to".
LEAD_IN = re.compile(
    r"^(?:(?:hey|hi|hello|yo|ok|okay|alright|so|um|please|pls|plz|kindly|just|now|also|quick(?:ly)?|"
    r"(?:can|could|would|will)\s+(?:you|u|we|i|someone)(?:\s+please)?|"
    r"i'?d like (?:you )?to|i would like (?:you )?to|i want (?:you )?to|i need (?:you )?to|we need to|need to|"
    r"let'?s|let us|go ahead and|time to|pretty please)\b[\s,:-]*)+", _I)
# The bot addressed by name ("<@U0RUNBOOK>", "@runbook", "hey runbook, ..."): never part of the request.
MENTION = re.compile(r"<@[A-Z0-9]+>|(?<![\w])@runbook\b[:,]?|^\s*(?:(?:hey|hi|hello|ok|okay|yo)\s+)?runbook\s*[,:!]\s*",
                     _I)

QUESTION = re.compile(r"^(?:what|what's|whats|which|when|who|whom|whose|why|how|how's|hows|did|does|do|was|were|"
                      r"is|isn't|are|aren't|has|have|had|should|shall|any|anything|anyone|were|where|"
                      r"is there|are there|tell me|remind me)\b", _I)
ADVICE = re.compile(r"^(?:should|shall|would it be (?:safe|ok|wise) to|is it (?:safe|ok) to|do we need to|"
                    r"ought we to|can we)\b", _I)
READ_VERB = re.compile(r"^(?:show|list|get|give me|check|look(?: at| into)?|find|search|tell me|display|see|fetch|pull(?: up)?|"
                       r"investigate|describe|view|print|grep|dig into|what|which)\b", _I)

# Changes. A rollback: back to an earlier version, however it is worded.
ROLLBACK = re.compile(
    r"\broll(?:ing)?\s*back\b|\brollback\b|\broll\s+(?!out\b|forward\b)(?:[\w-]+\s+){1,2}?back\b|\brevert\b|\bundo\b|"
    r"\bdowngrade\b|\bgo(?:ing)?\s+back\b|\b(?:put|take|bring|move|set)\s+(?:[\w-]+\s+){0,2}?back\b|"
    r"\brestore\b|\breturn\s+(?:[\w-]+\s+){0,2}?to\s+(?:the\s+)?(?:previous|prior|last|earlier|old)\b|\bback\s*out\b", _I)
# The same words used as a deploy option ("with automatic rollback", "--auto-rollback", "roll back if the
# canary fails"): part of a deploy request, never a rollback request.
_LEAD = r"(?:[,;-]\s*|\s+(?:and|with|plus|but)\s+)?"
_CONDITION = r"(?:\s+(?:automatically|on failure|(?:if|when|should|in case|once)\b[^,;.!?]*))?"
AUTO_ROLLBACK = re.compile(
    _LEAD + r"(?:--)?\bauto(?:matic(?:ally)?)?[- ]?roll(?:ing)?[- ]?backs?\b(?:\s+(?:pls|please|on|enabled))?" + _CONDITION
    + r"|" + _LEAD + r"(?:an?\s+)?\b(?:roll(?:ing)?[- ]?(?:it\s+)?back|rollback|revert)\s+(?:automatically|on failure|"
    r"(?:it\s+)?(?:if|when|should|in case)\s+(?:[\w'-]+\s+){0,4}?(?:fails?|failed|goes wrong|go wrong|breaks?|"
    r"degrades?|is unhealthy|errors?|regress\w*))[^,;.!?]*", _I)
DEPLOY = re.compile(
    r"\b(?:re)?deploy(?!\s+(?:history|log|logs|list|status|time|window|freeze|pipeline|queue)\b)\b|\bship\b|\brelease\b|"
    r"\broll(?:ing)?\s*out\b|\brollout\b|\broll(?:ing)?\s+forward\b|\bpush\b|\bupgrade\b|\bupdate\b|\bbump\b|\bpromote\b|"
    r"\bget\s+(?:[\w.:-]+\s+){1,3}?(?:out|live|deployed|shipped|released)\b|\bgo live\b|"
    r"\bput\s+(?:[\w.:-]+\s+){1,3}?(?:out|live|on|onto|in|into|to)\b(?!\s+(?:hold|pause)\b)|"
    r"\b(?:start|kick off|begin|do|run|trigger|launch|go ahead with)\s+(?:a|an|the)\s+(?:new\s+)?"
    r"(?:deploy|deployment|release|rollout)\b", _I)
NOUN_DEPLOY = re.compile(r"\b(?:the|a|an|this|that|last|latest|recent|previous|new|my|our|his|her|their|"
                         r"\d+(?:\.\d+)+|[\w-]+'s)\s+(?:deploy|release|rollout|push|upgrade|update)\b", _I)
DEPLOYED = re.compile(r"\b(?:deploy\w*|releas\w*|ship\w*|roll(?:ed|ing)?\s*out|upgrad\w*|push\w*)\b", _I)
EVERY_ENV = re.compile(r"\b(?:everywhere|all (?:the )?environments|every environment|both environments|"
                       r"(?:prod|production) and (?:staging|stage|stg)|(?:staging|stage|stg) and (?:prod|production))\b", _I)
FLEET = re.compile(r"\b(?:everything|every service|all (?:the )?services|all of them|the (?:whole )?fleet|"
                   r"fleet|all\b(?! the \w+ tasks)|every\w*|overall|across the board)", _I)
LATEST = re.compile(r"\b(?:latest|newest|new(?:est)? (?:version|build|image|release)|the new\b|most recent "
                    r"(?:version|build|image|tag)|whatever'?s?|whichever)\b", _I)

# Reads.
DEPLOY_LOG = re.compile(r"\b(?:deploy(?:ment)?|release|rollout)\s+(?:log|logs|history|list|record|records|audit)\b"
                        r"|\baudit (?:log|trail)\b|^who\b.*\b(?:deploy\w*|roll\w* back|rolled|revert\w*|releas\w*|ship\w*|"
                        r"approv\w*|push\w*)", _I)
HISTORY = re.compile(
    r"\bdeploy(?:s|ments?|ed)\b|\bredeployed\b|\bhistory\b|\bchange\s?log\b|\breleases\b|\breleased\b|\brollbacks\b|"
    r"\brolled\s*back\b|\breverted\b|\bshipped\b|\bwent (?:out|live)\b|\bchanges\b|\bchanged\b|\bpushed\b|"
    r"\bupgraded\b|\brolled out\b|\bwhat(?:'s| has| have)? (?:gone|been) out\b", _I)
LAST_ONE = re.compile(r"\b(?:last|latest|most recent|previous)\s+(?:deploy|deployment|release|rollback|change)\b(?!s)"
                      r"|\b(?:was|were)\s+(?:[\w-]+\s+){1,3}?last\s+(?:deployed|released|shipped|rolled back)\b", _I)
COUNT = re.compile(r"\b(?:last|latest|recent|past|previous|\bthe)\s+(?P<n>\d{1,2}|two|three|four|five|six|seven|eight|"
                   r"nine|ten|twenty)\s+(?:most recent\s+)?(?P<what>deploy\w*|releases|rollbacks|changes|errors?|"
                   r"log\w*|events|lines|exceptions)\b"
                   r"|\b(?P<n2>\d{1,3})\s+(?:most\s+recent|newest|latest|last)\s+(?P<what2>errors?|log\w*|events|lines|"
                   r"exceptions|deploy\w*|rollbacks)\b", _I)
VERSIONS = re.compile(r"\b(?:which|what)\s+versions?\b|\bversions?\b(?:.*\b(?:running|where|run|deployed|on)\b)?|"
                      r"\brunning where\b|\bdeployed where\b|\bwhat'?s?\s+(?:deployed|running)\b|\bwhat(?:'s| is)\s+on\b", _I)
# What may be deployed: the registry's tags.
REGISTRY = re.compile(r"\b(?:image\s+)?tags?\b|\bimages?\b|\bbuilds?\b(?!\s+(?:failed|broke))|\bregistry\b|\bversions?\b.*"
                      r"\b(?:can (?:i|we)|could (?:i|we)|available|to deploy|deployable|exist|are there|pushed)\b", _I)
STATUS = re.compile(r"\b(?:status|state|health|healthy|unhealthy|up|down|ok|okay|running|doing|alive|fine|looking|"
                    r"tasks?|on fire|burning|melting|green|red|degraded|happy|good)\b", _I)
ALARMS = re.compile(r"\b(?:alarms?|alerts?|alarming|alerting|firing|paging|pages|incidents?|on fire)\b", _I)
INVESTIGATE = re.compile(
    r"\b(?:errors?|error rate|exceptions?|failures?|failing|fail(?:s|ed)?|[1-5]xx|[1-5]\d\d'?s|[1-5]\d\d\b|latency|"
    r"p\d{2,3}|slow\w*|broken|break\w*|broke|wrong|investigate|why|spikes?|spiking|metrics|stats|timeouts?|timing out|"
    r"crash\w*|throwing|throttl\w*|logs?|log lines|stack ?traces?|degrad\w*|misbehav\w*|problems?|issues?|"
    r"going on|happening|happened|request rate|traffic|oom|out of memory|what'?s up with|weird|odd|strange)\b", _I)
LOGS = re.compile(r"\b(?:logs?|log lines|log events|stack ?traces?|(?:most recent|newest|latest|last) \d* ?errors)\b", _I)
# Text a log line must contain: "mentioning timeout", "containing 'pool exhausted'", "grep for OOM".
PATTERN = re.compile(
    r"""\b(?:mentioning|mention|mentions|containing|contains|contain|matching|match|with the (?:word|text|string)|"""
    r"""grep(?:ping)?(?:\s+(?:[\w-]+\s+){0,3}?for)?|that say|saying|about)\s+(?P<q>["'])(?P<quoted>[^"']+)(?P=q)"""
    r"""|\b(?:mentioning|mentions|containing|contains|that contain|matching|with the (?:word|text|string)|"""
    r"""grep(?:ping)?\s+(?:[\w-]+\s+){0,3}?for|saying)\s+(?P<word>[\w.:/-]+(?:\s+(?!(?:in|on|for|from|over|during|"""
    r"""since|last|past|today|yesterday|the|and|or|please|pls)\b)[\w.:/-]+){0,2})""", _I)
METRICS_ONLY = re.compile(r"\b(?:just|only)\s+(?:the\s+)?metrics\b|^\s*(?:the\s+)?metrics\b|\bmetrics only\b", _I)

# Memory: runbooks, postmortems, what happened before.
RUNBOOKS = re.compile(r"\b(?:run\s?books?|play\s?books?|sops?|procedures?|checklists?)\b", _I)
POSTMORTEMS = re.compile(r"\b(?:post[- ]?mortems?|incident (?:reports?|reviews?)|retros?|retrospectives?|rcas?)\b", _I)
KNOWLEDGE = re.compile(r"\b(?:knowledge(?: base)?|memory|notes|docs|documentation|wiki)\b", _I)
SEARCH = re.compile(r"^\s*(?:search|look up|lookup|find|grep|check)\b", _I)
SEEN_BEFORE = re.compile(
    r"\b(?:happen\w*|seen|occur\w*|run into|ran into|encounter\w*)\b.*\b(?:before|previously|in the past)\b"
    r"|\b(?:has|have|had|hit|got|did)\b.*\b(?:before|previously|in the past)\s*[?.!]*\s*$"
    r"|\bever\b.*\b(?:happen\w*|seen|see|saw|had|have|hit|occur\w*)\b"
    r"|\b(?:similar|past|previous|earlier|prior|old) (?:incidents?|outages?|issues?|problems?|failures?)\b"
    r"|\bremember\b|\bremind me\b|\blearn(?:ed|t)? from\b|\blessons?\b"
    r"|\b(?:did|has|have|had)\s+(?:[\w'-]+\s+){0,4}?happen(?:ed)?\b"
    r"|\bwhat happened (?:during|in|with|to) (?:the|that|our)\s+(?!last\b|past\b|previous\b)(?:[\w-]+\s+){0,3}?"
    r"(?:outage|incident|sale|launch|migration|failure|event|downtime|meltdown)\b", _I)
LAST_TIME = re.compile(r"\b(?:last|previous|prior) time\b|\bwent wrong\b.*\b(?:deploy\w*|releas\w*|ship\w*|roll\w*)\b", _I)
HOW_TO_FIX = re.compile(r"\bhow (?:do|should|can|did|to|would)\b.*\b(?:fix|handle|mitigate|deal with|recover|resolve|"
                        r"troubleshoot|debug|respond to)\b|^how (?:do|should|can|would) (?:i|we|you|one)\b|^how to\b|\bwhat (?:do|should) (?:we|i) do (?:about|when|if|with)\b"
                        r"|\bwhat does the (?:run\s?book|playbook|doc\w*) say\b", _I)
WHY_PAST = re.compile(r"\bwhy\b.*\b(?:got|was|were|did we)\s+(?:[\w.:-]+\s+){0,3}?(?:rolled back|reverted|roll(?:ed)? back|fail(?:ed)?|"
                      r"denied|abort\w*)\b", _I)

# Getting around a gate: never unlocks anything.
GATE_VERB = re.compile(r"^(?:approve|deny|reject|unblock|sign off|force)\b", _I)
GATE = re.compile(
    r"\b(?:self[- ]?approv\w*|auto[- ]?approv\w*|approve\s+(?:it|this|that|all|my|the|everything|pending|dep-\S+|deploy\w*|"
    r"[\w-]+'s|them|both)|mark\s+(?:[\w-]+\s+){0,4}(?:as\s+)?(?:approved|denied|rejected|successful|passed|healthy)|"
    r"(?:skip|skipping|bypass\w*|disable|turn off|switch off|ignore|override|circumvent|avoid|no)\s+(?:the\s+|any\s+|all\s+)?"
    r"(?:[\w-]+\s+)?(?:canary|canaries|approvals?|approvers?|gates?|checks?|pre-?checks|validation|reviews?|safety|"
    r"health ?checks?)|without\s+(?:an?\s+|the\s+|any\s+)?(?:approval|canary|checks|review|waiting|gates?)|"
    r"(?:don'?t|do not|dont|no need to|never)\s+wait\s+for|--force\b|--yes\b|--no-canary\b|\bforce(?:fully|d)?\b|"
    r"ignore\s+(?:all\s+|your\s+|the\s+|any\s+)?(?:previous\s+|prior\s+|above\s+|earlier\s+)?instructions|"
    r"(?:reveal|show|print|dump|give me|tell me|read out|echo|cat|what(?:'s| is| are))\s+(?:[\w-]+\s+){0,3}?"
    r"(?:secrets?|passwords?|api[- ]keys?|tokens?|credentials?|private keys?)\b(?!\s+(?:rotation|expiry|expir\w+))|"
    r"you (?:are|'re) now allowed|as (?:an? )?admin\b|sudo\b)", _I)

# What no capability does: an imperative runbook has no tool for, or talk.
FOREIGN = re.compile(
    r"^(?:restart|reboot|bounce|kill|terminate|stop|halt|pause|resume|cancel|abort|scale|resize|increase|decrease|"
    r"raise|lower|add|remove|delete|drop|destroy|flush|clear|purge|wipe|reset|create|make|open|file|page|call|ping|"
    r"notify|email|e-mail|message|text|dm|send|post|write|compose|draft|translate|summari[sz]e|set|change|edit|"
    r"modify|configure|rotate|renew|grant|revoke|invite|book|order|buy|sing|play|tell (?:me )?a joke|give(?! me\b)|"
    r"allocate|provision|spin up|tear down|failover|fail over|migrate|backfill|rerun|run|execute|tail|stream|"
    r"thanks|thank you|thx|cheers|good (?:morning|night|evening)|how are you|who are you|hello|hi|hey)\b", _I)
CHITCHAT = re.compile(r"^(?:hello|hi|hey|yo|thanks|thank you|thx|cheers|good (?:morning|afternoon|evening|night)|"
                      r"how are you|who are you|what can you do|help)\W*$", _I)

# Follow-ups in a conversation.
FOLLOW_UP = re.compile(r"^\s*(?:and|what about|how about|same|now|also|ok and|ok now|then|and now|and in|and for)\b"
                       r"|\bbefore\b|\bearlier\b|\bagain\b", _I)
BEFORE = re.compile(r"\b(?:before|earlier|prior|preceding)\b", _I)
CONFIRM = re.compile(r"^(?:yes|yep|yeah|y|sure|ok|okay|go|go ahead|do it|please do|proceed|confirm(?:ed)?|ship it|"
                     r"make it so|let'?s do it|go for it|yes please|yes do it|ok do it|do that|sounds good)\b[\s!.,]*"
                     r"(?:do it|go ahead|please|pls|then|now)?[\s!.]*$", _I)
ANAPHORA = re.compile(r"\b(?:it|this|that|them|those|the service|same service|the same)\b", _I)
CONDITION = re.compile(r"^\s*(?:if|when|once|unless|provided|assuming)\b|\bif\b", _I)

# The slot a service name takes after a verb or noun of a skill: "deploy billing 1.0", "errors for frontend".
SERVICE_SLOT = re.compile(
    r"\b(?:(?:re)?deploy|ship|release|roll\s*out|push|upgrade|bump|promote|roll\s*back|rollback|revert|undo|downgrade|"
    r"restore|investigate|(?:errors?|logs?|latency|metrics|status|health|history|alarms?|version)\s+(?:for|of|on|in))"
    r"\s+(?:the\s+)?(?P<name>[a-z][\w-]*)", _I)

# Words that are never a service name when they follow "for"/"of" (see router_slots.object_word).
NOT_A_NAME = set(
    "a an the this that these those it them me us you him her everything anything something nothing all every each "
    "any some one two three today yesterday tomorrow now then week month day hour hours minutes minute days weeks "
    "while ever sure example instance real good bad reason change changes deploys deploy deployments deployment "
    "errors error logs log status health alarms alarm latency metrics history rollbacks rollback releases release "
    "prod production staging stage stg prd live services service fleet cluster clusters incident incidents outage "
    "outages problems problem issues issue help details more info information version versions tags images now "
    "later last past previous recent recently lately tasks task traffic requests timeouts exceptions failures "
    "runbook runbooks postmortem postmortems memory fire".split())

# Common words a typo fix must never turn into a router word ("there" is not "three", "worked" not "worker").
COMMON = set(
    "there their these those where whose which while would could should about after again against always among "
    "before being below between both during each every first found going great group known large later least "
    "little maybe might never often other others people place point right since small something state still "
    "thing things think three through today under until using value visit where world worked working works "
    "worth write wrote years yesterday please thanks stats stable latest started starts status stage stages "
    "deployed deploying deploys checked checks checking looks looking rolled rolls rolling roller reverted "
    "reverts shipped shipping release released releases alerts alarmed alarming errored erroring healthy "
    "health heath earlier early later newer newest older oldest broken breaking breaks break morning evening "
    "night since within without around across along against pending passed failed failing fails crashed "
    "crashing slowly slower slowest faster quick quickly maybe actually really happened happen happens "
    "incident incidents outage outages record records recorded report reports reported notified notes "
    "version versions images image build builds tagged pushed pushing upgrade upgraded update updated "
    "mention mentions mentioned number numbers minute minutes hours weeks months month second seconds "
    "rolled checker cluster clusters worker workers canary canaries approve approved approval approvals "
    "denied reject rejected restart restarted scale scaled queue queues cache caches redis memory kills "
    "webhook webhooks backlog backlogs autumn spring summer winter thing anyone someone everyone nobody "
    "should shall might whats that's what's where's who's how's it's there's here's fired firing paged "
    "sales sale latency metrics metric limit limits quarter ninety twenty thirty forty fifty sixty "
    "check show list find look search fetch watch shows listed finds looked searched about above below "
    "chest cheque checkers ".split())
