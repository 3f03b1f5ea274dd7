"""Every table of every area, from one place (the web, the CLI, the migrations, the tests).

The engine itself imports each area's models from that area's module, so that a
layer never reaches up into another."""

from workflow.core.models import (  # noqa: F401
    CLOCK_STATES,
    CLOSED_STATES,
    DESK_STATES,
    INBOX_STATES,
    NOTICE_LEVELS,
    OPEN_STATES,
    PAUSED_STATES,
    REMINDER_LEVELS,
    TASK_STATES,
    AgentCapacity,
    Attachment,
    AuditEvent,
    Comment,
    DigestRun,
    ExtensionRequest,
    FigureClosedDay,
    FigureClosedTotal,
    FigureOpen,
    HandlingHistory,
    ItemPrediction,
    ItemTask,
    MaterialRequest,
    Notification,
    Pause,
    PipelineTotal,
    Project,
    ProjectPrediction,
    Reminder,
    RollupState,
    SupervisionNotice,
    WorkloadDay,
)
from workflow.kernel.models import (  # noqa: F401
    NAMING,
    OUTBOX_CHANNELS,
    OUTBOX_STATUSES,
    ROLES,
    SECURITY_EVENTS,
    ZONE_AUDIT_CHANNELS,
    ApiToken,
    Base,
    CalendarSchedule,
    DefinitionVersion,
    Enterprise,
    GroupMembership,
    IndustryGroup,
    LoginAttempt,
    LoginSession,
    OutboxMessage,
    RecoveryCode,
    SavedFilter,
    SecondFactor,
    SecurityEvent,
    User,
    ZoneAuditChain,
    ZoneAuditEvent,
)
from workflow.reforms.baolian.models import (  # noqa: F401
    DATE_SOURCES,
    MILESTONE_KINDS,
    PLAN_DONE,
    PLAN_LEVELS,
    PlanMilestone,
    PlanReminder,
    PromotionPlan,
)
from workflow.reforms.chemicals.models import (  # noqa: F401
    CHEMICAL_LEVELS,
    RULE_KINDS,
    SCREENING_VERDICTS,
    ChemicalClass,
    HazardousChemical,
    Screening,
    ScreeningRule,
)
from workflow.reforms.commitments.models import (  # noqa: F401
    COMMITMENT_STATES,
    CREDIT_SEVERITIES,
    GAP_STATES,
    CommitmentLetter,
    CreditRecord,
    GapAcceptance,
)
from workflow.reforms.documents.models import (  # noqa: F401
    DOCUMENT_KINDS,
    AgencyDocument,
)
from workflow.reforms.fees.models import (  # noqa: F401
    SUBSIDY_KINDS,
    SUBSIDY_STATES,
    ElementSubsidy,
    FeeBudget,
    FeeContract,
    FeeInvoice,
    FeePayment,
)
from workflow.reforms.intentions.models import (  # noqa: F401
    FollowUp,
)
from workflow.reforms.land.models import (  # noqa: F401
    CHECKPOINT_KINDS,
    CHECKPOINT_STATES,
    EXEMPTION_CAUSES,
    AgreementMiss,
    CapacityReport,
    Checkpoint,
    IdleExemption,
    InvestmentAgreement,
    LandStoppage,
    Parcel,
    ParcelEvaluation,
    ParcelIndicator,
    RegionalEvaluation,
)
from workflow.reforms.ratings.models import (  # noqa: F401
    RATING_LEVELS,
    RECTIFICATION_STATES,
    Rating,
    Rectification,
)
from workflow.reforms.requests.models import (  # noqa: F401
    COMPLEXITIES,
    ESCALATION_STEPS,
    OPEN_REQUEST_STATES,
    REQUEST_KINDS,
    REQUEST_RATINGS,
    REQUEST_SOURCES,
    REQUEST_STATES,
    RequestEscalation,
    ServiceRequest,
    Visit,
)
