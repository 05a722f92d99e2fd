"""attachment_upload: who holds the bytes of an attachment (issue 10, point 2)

A dossier may cite only photos its own phone or ward uploaded (or uploaded again). Existing attachments get
one row for their first uploader.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 14:28:45.635656

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachment_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_attachment_upload_agency_id_agency')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_attachment_upload_device_id_device')),
    sa.ForeignKeyConstraint(['sha256'], ['attachment.sha256'], name=op.f('fk_attachment_upload_sha256_attachment')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_attachment_upload_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment_upload')),
    sa.UniqueConstraint('sha256', 'user_id', 'device_id', name='uq_attachment_upload_holder')
    )
    with op.batch_alter_table('attachment_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_upload_sha256'), ['sha256'], unique=False)

    op.execute("INSERT INTO attachment_upload (sha256, user_id, device_id, agency_id, uploaded_at) "
               "SELECT a.sha256, a.uploaded_by_id, a.device_id, u.agency_id, a.created_at FROM attachment a "
               "LEFT JOIN user_account u ON u.id = a.uploaded_by_id")


def downgrade():
    with op.batch_alter_table('attachment_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_upload_sha256'))

    op.drop_table('attachment_upload')
